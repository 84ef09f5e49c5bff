"""Operations tests: live uvicorn/gunicorn/PgBouncer processes, outages and restarts, deploy
files and the Dockerfile, logging, metrics, readiness and scale-out."""
