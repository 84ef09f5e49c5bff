"""API tests: the app through TestClient or httpx (routes, status codes, bodies, OpenAPI,
headers), on the back ends of `client`."""
