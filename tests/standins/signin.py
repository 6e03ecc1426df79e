"""A loopback stand-in for the AWS Sign-In service's token endpoint (CreateOAuth2Token,
`POST /v1/token`, refresh_token grant), checking what the real one checks of a renewal by
`aws login`'s credential providers: a DPoP proof (RFC 9449, ES256) signed by the key in its own
header, for this method and URL, issued within a minute, its jti never seen before; and a refresh
token that is single-use and bound to the key (jwk thumbprint) it was first presented with.

Usage: python3 signin.py REFRESH_TOKEN -> prints "PORT <n>" once listening on 127.0.0.1; exits
when stdin closes. GET /admin/state reads the counters; POST /admin/refuse {"error": CODE}
makes every renewal answer AccessDeniedException with that code. GET
/federation?Action=getSigninToken answers the console's sign-in token request (a session of
temporary credentials in, a random token out), for the benchmark of `aws-runas console`; the
tests of `console` have a stricter stand-in of their own.
"""

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

LOCK = threading.Lock()
STATE = {
    "renewals": 0,  # successful token grants
    "requests": 0,  # every POST /v1/token
    "refused": [],  # why each refused request was refused
    "jtis": set(),
    "refresh_tokens": {},  # token -> bound jwk thumbprint (None until first use)
    "spent": set(),
    "refuse": None,
    "issued": [],  # secrets handed out, for leak checks
    "signin_tokens": 0,  # getSigninToken answers
}


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def thumbprint(jwk):
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def check_proof(proof, url):
    """The jwk thumbprint of a valid proof for POST url, else raises ValueError."""
    parts = proof.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    header = json.loads(b64d(parts[0]))
    claims = json.loads(b64d(parts[1]))
    if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
        raise ValueError("bad typ/alg")
    jwk = header.get("jwk") or {}
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("bad jwk")
    x = int.from_bytes(b64d(jwk["x"]), "big")
    y = int.from_bytes(b64d(jwk["y"]), "big")
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    sig = b64d(parts[2])
    if len(sig) != 64:
        raise ValueError("signature is not r||s")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("bad signature")
    if claims.get("htm") != "POST":
        raise ValueError("htm")
    if claims.get("htu") != url:
        raise ValueError(f"htu {claims.get('htu')!r} is not {url!r}")
    if not isinstance(claims.get("iat"), int) or abs(time.time() - claims["iat"]) > 60:
        raise ValueError("iat")
    jti = claims.get("jti")
    if not jti or jti in STATE["jtis"]:
        raise ValueError("jti replayed")
    STATE["jtis"].add(jti)
    return thumbprint(jwk)


class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes: without this, Nagle holds the body for the
    # client's delayed ACK, 40 ms an answer: the stand-in's cost, not the client's.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, body, error_type=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/admin/state":
            with LOCK:
                self.answer(
                    200,
                    {
                        "renewals": STATE["renewals"],
                        "requests": STATE["requests"],
                        "refused": STATE["refused"],
                        "issued": STATE["issued"],
                        "signin_tokens": STATE["signin_tokens"],
                    },
                )
        elif urlparse(self.path).path == "/federation":
            query = parse_qs(urlparse(self.path).query)
            try:
                session = json.loads(query["Session"][0])
                temporary = all(session.get(k) for k in ("sessionId", "sessionKey", "sessionToken"))
            except (KeyError, ValueError):
                temporary = False
            if query.get("Action") != ["getSigninToken"] or not temporary:
                return self.answer(400, {"error": "not a session of temporary credentials"})
            with LOCK:
                STATE["signin_tokens"] += 1
            self.answer(200, {"SigninToken": secrets.token_urlsafe(32)})
        else:
            self.answer(404, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 16))
        if self.path == "/admin/refuse":
            with LOCK:
                STATE["refuse"] = json.loads(body)["error"]
            return self.answer(200, {})
        if self.path != "/v1/token":
            return self.answer(404, {})
        url = f"http://{self.headers.get('Host')}/v1/token"
        with LOCK:
            STATE["requests"] += 1

            def refuse(status, error, why):
                STATE["refused"].append(why)
                etype = "AccessDeniedException" if status == 400 else "ValidationException"
                self.answer(status, {"error": error, "message": why}, etype)

            if STATE["refuse"]:
                return refuse(400, STATE["refuse"], "told to refuse")
            try:
                thumb = check_proof(self.headers.get("DPoP") or "", url)
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
                return refuse(400, "INVALID_DPOP_PROOF", f"proof: {e}")
            try:
                req = json.loads(body)
            except json.JSONDecodeError:
                return refuse(400, "INVALID_REQUEST", "body")
            if req.get("grantType") != "refresh_token" or not req.get("clientId"):
                return refuse(400, "INVALID_REQUEST", "grant")
            token = req.get("refreshToken")
            if token in STATE["spent"] or token not in STATE["refresh_tokens"]:
                return refuse(400, "TOKEN_EXPIRED", "refresh token spent or unknown")
            bound = STATE["refresh_tokens"][token]
            if bound is not None and bound != thumb:
                return refuse(400, "TOKEN_EXPIRED", "refresh token bound to another key")
            STATE["spent"].add(token)
            new_refresh = "rt-" + secrets.token_urlsafe(24)
            STATE["refresh_tokens"][new_refresh] = thumb
            secret = secrets.token_urlsafe(30)[:40]
            session = "login-session-" + secrets.token_urlsafe(60)
            key_id = "ASIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
            STATE["issued"] += [secret, session, new_refresh]
            STATE["renewals"] += 1
        self.answer(
            200,
            {
                "accessToken": {
                    "accessKeyId": key_id,
                    "secretAccessKey": secret,
                    "sessionToken": session,
                },
                "tokenType": "aws_sigv4",
                "expiresIn": 900,
                "refreshToken": new_refresh,
            },
        )


def main():
    STATE["refresh_tokens"][sys.argv[1]] = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
