# syntax=docker/dockerfile:1
# The auth service behind gunicorn with uvicorn workers (docs/operations.md, "Running in production").
#   docker build -t auth-service .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e MFA_ENCRYPTION_KEY=... -e DATABASE_URL=postgresql+psycopg2://... auth-service
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: install the pinned dependencies (wheels only) into a virtual environment.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --only-binary=:all: -r /tmp/requirements.txt

# Stage 2: the runtime, with the virtual environment and the service's code only.
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/auth-service-metrics
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY A_DatabasePackage ./A_DatabasePackage
COPY B_EntityPackage ./B_EntityPackage
COPY C_SchemaPackage ./C_SchemaPackage
COPY D_CustomExceptionPackage ./D_CustomExceptionPackage
COPY E_SecurityPackage ./E_SecurityPackage
COPY F_RepositoryPackage ./F_RepositoryPackage
COPY G_ServiceFunctionPackage ./G_ServiceFunctionPackage
COPY H_ServiceImplementationPackage ./H_ServiceImplementationPackage
COPY I_ControllerPackage ./I_ControllerPackage
COPY deploy/__init__.py deploy/gunicorn_conf.py deploy/worker.py deploy/http_protocol.py ./deploy/
COPY scripts/__init__.py scripts/manage.py scripts/key_commands.py ./scripts/
# The code stays root's and read-only; the service writes only to /tmp (metrics files).
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "deploy/gunicorn_conf.py"]
