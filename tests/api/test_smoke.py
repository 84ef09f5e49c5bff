from fastapi.testclient import TestClient

from tests.support import bearer, login, register


def test_register_login_and_read_me(client: TestClient) -> None:
    created = register(client, "alice")
    token = login(client, "alice")
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == created
