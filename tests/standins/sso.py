"""A loopback stand-in for AWS IAM Identity Center: the SSO OIDC service (RegisterClient,
StartDeviceAuthorization, CreateToken with the device code, authorization code (PKCE) and refresh
token grants, and the /authorize page a browser is sent to) and the SSO
portal (GetRoleCredentials, ListAccounts, ListAccountRoles, paged by a forced page size), written from the AWS API reference
as the SDKs call them (restJson1: JSON bodies, errors named by the x-amzn-ErrorType header).

The test plays the user's browser through /admin/*: it approves device codes, tunes the
server's answers (slow_down, expired codes, token lifetimes), and reads every counter.

Usage: python3 sso.py  -> prints "PORT <n>" once listening on 127.0.0.1; exits when stdin closes.
"""

import base64
import hashlib
import json
import secrets
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
CONFIG = {
    "interval": 1,  # seconds between polls the server asks for
    "device_expires_in": 600,
    "token_ttl": 3600,  # access token lifetime (s)
    "auto_approve": False,  # approve device codes at once
    "slow_down_first_poll": False,
    "page_size": None,  # ListAccounts / ListAccountRoles items per page, at most
    "expire_devices": False,  # every poll answers expired_token
    "issue_refresh_token": True,
    # The demo plays the user: a device code counts as approved this many seconds after it was
    # handed out, so the newcomer sees the code and the wait first. None: only /admin/approve.
    "approve_after": None,
    # With an STS endpoint (moto), role credentials are AssumeRole's there, so the AWS CLI sees
    # the role (assumed-role/ROLE/...) as with real Identity Center; else random keys.
    "sts_endpoint": None,
    # A hostile or broken service: the user code and verification URL to answer with instead of
    # well-formed ones (None: the real shape).
    "user_code": None,
    "verification_uri": None,
}
STATE = {
    "counts": {},
    "clients": {},  # clientId -> secret
    "redirect_clients": {},  # clientId -> {redirectUris, issuerUrl} (authorization code grant)
    "codes": {},  # authorization code -> {clientId, challenge, redirectUri}
    "devices": {},  # deviceCode -> {userCode, approved, clientId, interval, last_poll}
    "access_tokens": set(),
    "refresh_tokens": set(),
    "early_polls": 0,
    "slow_downs": 0,
    "grants": [],  # grant types of successful CreateToken calls, in order
    "secrets_issued": [],  # every secret handed out, for tests that look for leaks
}
ACCOUNTS = [
    {"accountId": "123456789012", "accountName": "Production", "emailAddress": "p@example.com"},
    {"accountId": "210987654321", "accountName": "Sandbox", "emailAddress": "s@example.com"},
]
ROLES = {"123456789012": ["Admin", "ReadOnly"], "210987654321": ["Developer"]}


def rand(n, alphabet=string.ascii_letters + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def secret(prefix, n=32):
    value = prefix + rand(n)
    STATE["secrets_issued"].append(value)
    return value


def count(op):
    STATE["counts"][op] = STATE["counts"].get(op, 0) + 1


def assume_role(account, role):
    """Role credentials from AssumeRole at CONFIG["sts_endpoint"] (moto checks no signature)."""
    import urllib.request
    import xml.etree.ElementTree as ET
    from urllib.parse import urlencode

    body = urlencode(
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": f"arn:aws:iam::{account}:role/{role}",
            "RoleSessionName": "sso-user",
        }
    ).encode()
    request = urllib.request.Request(
        CONFIG["sts_endpoint"],
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=sso/20200101/us-east-1/sts/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        tree = ET.fromstring(r.read())
    creds = {el.tag.split("}")[-1]: el.text for el in tree.iter()}
    return {
        "accessKeyId": creds["AccessKeyId"],
        "secretAccessKey": creds["SecretAccessKey"],
        "sessionToken": creds["SessionToken"],
        "expiration": int((time.time() + 3600) * 1000),
    }


class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes: without this, Nagle holds the body for the
    # client's delayed ACK, 40 ms an answer: the stand-in's cost, not the client's.
    disable_nagle_algorithm = True

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, error_type=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, error_type, oauth_error, description=""):
        self.reply(
            status,
            {"error": oauth_error, "error_description": description, "message": description},
            error_type,
        )

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw else {}

    def do_POST(self):
        path = urlparse(self.path).path
        body = self.body()
        with LOCK:
            if path == "/client/register":
                return self.register(body)
            if path == "/device_authorization":
                return self.device_authorization(body)
            if path == "/token":
                return self.token(body)
            if path == "/admin/config":
                CONFIG.update(body)
                return self.reply(200, CONFIG)
            if path == "/admin/approve":
                n = 0
                for d in STATE["devices"].values():
                    if body.get("userCode") in (None, d["userCode"]):
                        d["approved"] = True
                        n += 1
                return self.reply(200, {"approved": n})
            if path == "/admin/assignments":
                # {"accounts": [{"accountId", "accountName"}...], "roles": {accountId: [role...]}}
                ACCOUNTS[:] = body["accounts"]
                ROLES.clear()
                ROLES.update(body["roles"])
                return self.reply(200, {})
            if path == "/admin/revoke":
                STATE["access_tokens"].clear()
                return self.reply(200, {})
            if path == "/logout":
                count("Logout")
                return self.reply(200, {})
        self.reply(404, {"message": "no such route"})

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            if url.path == "/authorize":
                return self.authorize(q)
            if url.path == "/admin/state":
                return self.reply(
                    200,
                    {
                        "counts": STATE["counts"],
                        "early_polls": STATE["early_polls"],
                        "slow_downs": STATE["slow_downs"],
                        "grants": STATE["grants"],
                        "pkce_failures": STATE.get("pkce_failures", 0),
                        "pending": [d["userCode"] for d in STATE["devices"].values() if not d["approved"]],
                        "device_codes": list(STATE["devices"].keys()),
                        "secrets": STATE["secrets_issued"],
                    },
                )
            token = self.headers.get("x-amz-sso_bearer_token")
            if url.path in ("/federation/credentials", "/assignment/accounts", "/assignment/roles"):
                op = {
                    "/federation/credentials": "GetRoleCredentials",
                    "/assignment/accounts": "ListAccounts",
                    "/assignment/roles": "ListAccountRoles",
                }[url.path]
                count(op)
                if token not in STATE["access_tokens"]:
                    return self.error(401, "UnauthorizedException", "unauthorized", "Session token not found or invalid")
                if op == "GetRoleCredentials":
                    account, role = q.get("account_id"), q.get("role_name")
                    if role not in ROLES.get(account, []):
                        return self.error(403, "ForbiddenException", "forbidden", "No access")
                    if CONFIG["sts_endpoint"]:
                        return self.reply(200, {"roleCredentials": assume_role(account, role)})
                    return self.reply(
                        200,
                        {
                            "roleCredentials": {
                                "accessKeyId": "ASIA" + rand(16, string.ascii_uppercase + string.digits),
                                "secretAccessKey": secret("", 40),
                                "sessionToken": secret("sso-session-", 64),
                                "expiration": int((time.time() + 3600) * 1000),
                            }
                        },
                    )
                if op == "ListAccounts":
                    return self.page(q, "accountList", ACCOUNTS)
                account = q.get("account_id")
                roles = [{"roleName": r, "accountId": account} for r in ROLES.get(account, [])]
                return self.page(q, "roleList", roles)
        self.reply(404, {"message": "no such route"})

    def page(self, q, key, items):
        """One page of `items`: CONFIG["page_size"] (when set) caps what the client asks for, so
        a test sees the client follow nextToken; the token is the offset of the next page."""
        start = int(q.get("next_token") or 0)
        size = int(q.get("max_result") or len(items) or 1)
        if CONFIG["page_size"]:
            size = min(size, CONFIG["page_size"])
        out = {key: items[start : start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return self.reply(200, out)

    def register(self, body):
        count("RegisterClient")
        if body.get("clientType") != "public" or not body.get("clientName"):
            return self.error(400, "InvalidClientMetadataException", "invalid_client_metadata")
        cid = "client-" + rand(12)
        STATE["clients"][cid] = secret("client-secret-")
        grants = body.get("grantTypes") or []
        if "authorization_code" in grants:
            uris = body.get("redirectUris") or []
            if not uris or not all(u.startswith("http://127.0.0.1:") and u.endswith("/oauth/callback") for u in uris):
                return self.error(400, "InvalidRedirectUriException", "invalid_redirect_uri")
            if not body.get("issuerUrl"):
                return self.error(400, "InvalidRequestException", "invalid_request")
            STATE["redirect_clients"][cid] = {"redirectUris": uris, "issuerUrl": body["issuerUrl"]}
        now = int(time.time())
        self.reply(
            200,
            {
                "clientId": cid,
                "clientSecret": STATE["clients"][cid],
                "clientIdIssuedAt": now,
                "clientSecretExpiresAt": now + 90 * 86400,
            },
        )

    def client_ok(self, body):
        return STATE["clients"].get(body.get("clientId")) == body.get("clientSecret") is not None

    def device_authorization(self, body):
        count("StartDeviceAuthorization")
        if not self.client_ok(body):
            return self.error(401, "InvalidClientException", "invalid_client")
        if body["clientId"] in STATE["redirect_clients"]:
            return self.error(400, "UnauthorizedClientException", "unauthorized_client")
        if not body.get("startUrl"):
            return self.error(400, "InvalidRequestException", "invalid_request")
        code = secret("device-code-")
        user_code = rand(4, string.ascii_uppercase) + "-" + rand(4, string.ascii_uppercase)
        STATE["devices"][code] = {
            "userCode": user_code,
            "approved": CONFIG["auto_approve"],
            "clientId": body["clientId"],
            "interval": CONFIG["interval"],
            "last_poll": None,
            "polls": 0,
            "started": time.monotonic(),
        }
        port = self.server.server_address[1]
        uri = CONFIG["verification_uri"] or f"http://127.0.0.1:{port}/device"
        shown_code = CONFIG["user_code"] or user_code
        self.reply(
            200,
            {
                "deviceCode": code,
                "userCode": shown_code,
                "verificationUri": uri,
                "verificationUriComplete": f"{uri}?user_code={shown_code}",
                "expiresIn": CONFIG["device_expires_in"],
                "interval": CONFIG["interval"],
            },
        )

    def authorize(self, q):
        """The consent page: with auto_approve (or deny_authorize), it answers at once with the
        redirect a real browser would follow back to the client's loopback listener."""
        count("Authorize")
        client = STATE["redirect_clients"].get(q.get("client_id"))
        if (
            client is None
            or q.get("response_type") != "code"
            or q.get("redirect_uri") not in client["redirectUris"]
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or not q.get("state")
        ):
            return self.reply(400, {"error": "invalid_request"})
        from urllib.parse import urlencode

        if CONFIG.get("deny_authorize"):
            params = {"error": "access_denied", "state": q["state"]}
        else:
            code = secret("auth-code-")
            STATE["codes"][code] = {
                "clientId": q["client_id"],
                "challenge": q["code_challenge"],
                "redirectUri": q["redirect_uri"],
            }
            params = {"code": code, "state": q["state"]}
        self.send_response(302)
        self.send_header("Location", q["redirect_uri"] + "?" + urlencode(params))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def issue(self, grant):
        count("CreateToken")
        STATE["grants"].append(grant)
        access = secret("access-token-")
        STATE["access_tokens"].add(access)
        out = {"accessToken": access, "tokenType": "Bearer", "expiresIn": CONFIG["token_ttl"]}
        if CONFIG["issue_refresh_token"]:
            refresh = secret("refresh-token-")
            STATE["refresh_tokens"].add(refresh)
            out["refreshToken"] = refresh
        self.reply(200, out)

    def token(self, body):
        count("CreateTokenCall")
        if not self.client_ok(body):
            return self.error(401, "InvalidClientException", "invalid_client")
        grant = body.get("grantType")
        if grant == "authorization_code":
            entry = STATE["codes"].pop(body.get("code"), None)
            verifier = body.get("codeVerifier") or ""
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (
                entry is None
                or entry["clientId"] != body["clientId"]
                or entry["redirectUri"] != body.get("redirectUri")
                or entry["challenge"] != challenge
            ):
                STATE["pkce_failures"] = STATE.get("pkce_failures", 0) + 1
                return self.error(400, "InvalidGrantException", "invalid_grant")
            return self.issue("authorization_code")
        if grant == "refresh_token":
            if body.get("refreshToken") not in STATE["refresh_tokens"]:
                return self.error(400, "InvalidGrantException", "invalid_grant")
            STATE["refresh_tokens"].discard(body["refreshToken"])
            return self.issue("refresh_token")
        if grant != "urn:ietf:params:oauth:grant-type:device_code":
            return self.error(400, "UnsupportedGrantTypeException", "unsupported_grant_type")
        device = STATE["devices"].get(body.get("deviceCode"))
        if device is None or device["clientId"] != body.get("clientId"):
            return self.error(400, "InvalidGrantException", "invalid_grant")
        now = time.monotonic()
        # RFC 8628: a client polls no faster than the interval (which slow_down raises by 5 s).
        if device["last_poll"] is not None and now - device["last_poll"] < device["interval"] - 0.05:
            STATE["early_polls"] += 1
        device["last_poll"] = now
        device["polls"] += 1
        if CONFIG["expire_devices"]:
            return self.error(400, "ExpiredTokenException", "expired_token", "Device code has expired")
        if CONFIG["slow_down_first_poll"] and device["polls"] == 1:
            device["interval"] += 5
            STATE["slow_downs"] += 1
            return self.error(400, "SlowDownException", "slow_down")
        after = CONFIG["approve_after"]
        if after is not None and now - device["started"] >= after:
            device["approved"] = True
        if not device["approved"]:
            return self.error(400, "AuthorizationPendingException", "authorization_pending")
        del STATE["devices"][body["deviceCode"]]
        self.issue("device_code")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client closing its keep-alive connection is not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    # The test holds our stdin: when it goes (test ends, even by a panic), so do we.
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
