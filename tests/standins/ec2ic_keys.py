#!/usr/bin/env python3
"""sshd's AuthorizedKeysCommand for tests, playing an instance's EC2 Instance Connect: prints
the SSH public keys moto received through SendSSHPublicKey for this instance and login.

    ec2ic_keys.py MOTO_URL INSTANCE_ID USER

Standard library only: sshd runs it with an empty environment, outside the venv."""

import base64
import json
import sys
import urllib.request


def main():
    moto, instance, user = sys.argv[1:4]
    with urllib.request.urlopen(f"{moto}/moto-api/recorder/download-recording", timeout=10) as r:
        lines = r.read().decode().splitlines()
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        if not entry.get("headers", {}).get("X-Amz-Target", "").endswith(".SendSSHPublicKey"):
            continue
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        request = json.loads(body)
        if request.get("InstanceId") == instance and request.get("InstanceOSUser") == user:
            print(request["SSHPublicKey"])


if __name__ == "__main__":
    main()
