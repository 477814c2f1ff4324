"""The TestFiesta emulator's signed-URL upload (testfiesta-api.md §3.13): POST /data/url hands
out one signed URL per file; a PUT of the bytes to it, without the API key, attaches the
file to the case its externalId names; a wrong signature is refused."""

from __future__ import annotations

import hashlib

import httpx

from emulators import testfiesta

TOKEN = "testfiesta_" + "ab" * 16 + "." + "cd" * 16
BASE = "http://testfiesta.test"


async def project_with_case(client: httpx.AsyncClient) -> tuple[str, int]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    project = (
        await client.post(
            f"{BASE}/v1/acme/projects",
            json={"name": "Shop", "key": "SHOP", "customFields": {}},
            headers=auth,
        )
    ).json()
    folders = (
        await client.get(
            f"{BASE}/v1/acme/projects/SHOP/folders", params={"limit": 10, "offset": 0}, headers=auth
        )
    ).json()
    root = folders["items"][0]["uid"]
    [case] = (
        await client.post(
            f"{BASE}/v1/acme/projects/SHOP/cases",
            json=[
                {
                    "name": "Pay",
                    "parentId": root,
                    "projectId": project["uid"],
                    "steps": [],
                    "customFields": {},
                    "source": "testrail",
                    "externalId": "tr.example/case/5",
                }
            ],
            headers=auth,
        )
    ).json()
    return "tr.example/case/5", int(case["uid"])


async def test_a_signed_upload_attaches_the_exact_bytes_to_the_case() -> None:
    app = testfiesta.create_app(handle="acme", token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    content = b"\x89PNG\r\n\x1a\n tiny"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
        external, case_uid = await project_with_case(client)
        answer = await client.post(
            f"{BASE}/v1/acme/projects/SHOP/data/url",
            json={
                "files": [
                    {
                        "fileName": "shot.png",
                        "fileType": "image/png",
                        "size": len(content),
                        "mediaType": "attachment",
                        "externalId": external,
                    }
                ]
            },
            headers=auth,
        )
        assert answer.status_code == 201
        [file] = answer.json()["files"]
        assert (file["fileName"], file["externalId"], file["clientHeaders"]) == (
            "shot.png",
            external,
            {},
        )
        assert file["objectUrl"] == f"{BASE}/storage/{file['key']}"
        forged = await client.put(
            file["objectUrl"] + "?signature=0",
            content=content,
            headers={"Content-Type": "image/png"},
        )
        assert forged.status_code == 403
        put = await client.put(
            file["signedUrl"], content=content, headers={"Content-Type": "image/png"}
        )
        assert (put.status_code, put.content) == (200, b"")
        listed = await client.get(
            f"{BASE}/trv2/acme/index.php?/api/v2/get_attachments_for_case/{case_uid}",
            headers=auth,
        )
    [row] = listed.json()["attachments"]
    assert (row["name"], row["size"], row["case_id"]) == ("shot.png", len(content), case_uid)
    [stored] = app.state.testfiesta.attachments(case_uid)
    assert stored["content"] == content
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()


async def test_data_url_needs_the_api_key_and_a_file_name() -> None:
    app = testfiesta.create_app(handle="acme", token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
        await project_with_case(client)
        anonymous = await client.post(
            f"{BASE}/v1/acme/projects/SHOP/data/url", json={"files": [{"fileName": "a", "size": 1}]}
        )
        nameless = await client.post(
            f"{BASE}/v1/acme/projects/SHOP/data/url",
            json={"files": [{"size": 1}]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert anonymous.status_code == 401
    assert nameless.status_code == 400
    assert nameless.json()["message"] == "files[0].fileName must be a string"
