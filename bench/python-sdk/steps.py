"""The web-app client's steps with Logto's Python SDK (PyPI `logto`), timed like
bench/peers/src/bin/client-steps.rs times ours: each step alone, median of N.

usage: steps.py ENDPOINT APP_ID APP_SECRET RESOURCE N N_CALLBACK
Driven by client-steps: prints `AUTH <url>` and reads the callback URL on stdin
(the IdP's login pages are not timed); prints `STEPS {json}` (medians, µs) at the end.
"""

import asyncio
import json
import statistics
import sys
import time

from logto import LogtoClient, LogtoConfig
from logto.Storage import Storage

REDIRECT = "http://127.0.0.1/callback"


class DictStorage(Storage):
    """An in-memory storage (the SDK's MemoryStorage, without its warning)."""

    def __init__(self):
        self.data = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value):
        self.data[key] = value

    def delete(self, key):
        self.data.pop(key, None)


def median_us(samples):
    return statistics.median(samples) * 1e6


async def time_n(n, step):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - start)
    return median_us(samples)


async def main():
    endpoint, app_id, secret, resource = sys.argv[1:5]
    n, n_callback = int(sys.argv[5]), int(sys.argv[6])
    client = LogtoClient(
        LogtoConfig(
            endpoint=endpoint,
            appId=app_id,
            appSecret=secret,
            scopes=["shopping:read"],
            resources=[resource],
        ),
        storage=DictStorage(),
    )
    await client.getOidcCore()  # discovery once, as ours does at its first call

    async def sign_in():
        await client.signIn(REDIRECT)

    sign_in_url = await time_n(n, sign_in)

    callbacks = []
    for _ in range(n_callback):
        url = await client.signIn(REDIRECT)
        print(f"AUTH {url}", flush=True)
        callback = sys.stdin.readline().strip()
        start = time.perf_counter()
        await client.handleSignInCallback(callback)
        callbacks.append(time.perf_counter() - start)
    callback = median_us(callbacks)

    assert await client.getAccessToken(resource)

    async def access_token():
        assert await client.getAccessToken(resource)

    access_token_cached = await time_n(n, access_token)

    async def claims():
        client.getIdTokenClaims()

    id_token_claims = await time_n(n, claims)

    core = await client.getOidcCore()
    id_token = client.getIdToken()

    async def verify():
        core.verifyIdToken(id_token, app_id)

    verify_id_token = await time_n(n, verify)

    print(
        "STEPS "
        + json.dumps(
            {
                "sign_in_url": sign_in_url,
                "callback": callback,
                "access_token_cached": access_token_cached,
                "id_token_claims": id_token_claims,
                "verify_id_token": verify_id_token,
            }
        ),
        flush=True,
    )


asyncio.run(main())
