"""What botocore resolves for each case of tests/botocore_diff.rs, all cases in one process.

Reads a JSON list of cases ({"config", "credentials", "home", "target", "env"}) on stdin and
prints a JSON list of results. Credentials come from botocore's own providers (a session with the
profile named explicitly, as `aws-runas PROFILE` names it, or with none when the target is null,
so that AWS_PROFILE and its kin choose); only the STS client is a stand-in, which
records each AssumeRole's parameters and the key that signs it, checks the parameters as STS
would, and answers with made-up temporary keys.
"""

import datetime
import json
import os
import re
import sys

import botocore.credentials
import botocore.exceptions
import botocore.session
import botocore.utils

CALLS = []
# Whether every key set that signed (or would sign) a request is one AWS could accept.
KEYS_WELL_FORMED = []
KEY_ID = re.compile(r"[A-Z0-9]{16,128}\Z")
SECRET = re.compile(r"[!-~]{1,8192}\Z")


def well_formed(frozen):
    return bool(
        KEY_ID.match(frozen.access_key)
        and SECRET.match(frozen.secret_key)
        and (frozen.token is None or SECRET.match(frozen.token))
    )

# STS's own parameter rules (its API reference), which its answer would enforce.
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+\Z")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}\Z")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}\Z")


class StubSts:
    def __init__(self, signing_key):
        self.signing_key = signing_key

    def assume_role(self, **params):
        if not ROLE_ARN.match(params["RoleArn"]):
            raise ValueError("STS would refuse RoleArn")
        if "ExternalId" in params and not EXTERNAL_ID.match(params["ExternalId"]):
            raise ValueError("STS would refuse ExternalId")
        name = params.get("RoleSessionName", "")
        if not SESSION_NAME.match(name):
            raise ValueError("STS would refuse RoleSessionName")
        duration = params.get("DurationSeconds", 3600)
        if not 900 <= duration <= 43200:
            raise ValueError("STS would refuse DurationSeconds")
        CALLS.append({"signer": self.signing_key, **params})
        now = datetime.datetime.now(datetime.timezone.utc)
        return {
            "Credentials": {
                "AccessKeyId": "ASIA%016d" % len(CALLS),
                "SecretAccessKey": "stubsecret",
                "SessionToken": "stubtoken",
                "Expiration": now + datetime.timedelta(hours=1),
            },
            "AssumedRoleUser": {"Arn": params["RoleArn"], "AssumedRoleId": "AROA:x"},
        }


def create_client(fetcher):
    frozen = fetcher._source_credentials.get_frozen_credentials()
    KEYS_WELL_FORMED.append(well_formed(frozen))
    return StubSts(frozen.access_key)


botocore.credentials.AssumeRoleCredentialFetcher._create_client = create_client

# Profiles on the chain whose duration_seconds botocore drops because int() cannot read it.
UNREADABLE_DURATIONS = []
_get_role_config = botocore.credentials.AssumeRoleProvider._get_role_config


def get_role_config(self, profile_name):
    config = _get_role_config(self, profile_name)
    raw = self._loaded_config["profiles"][profile_name].get("duration_seconds")
    if raw is not None and "duration_seconds" not in config:
        UNREADABLE_DURATIONS.append(profile_name)
    return config


botocore.credentials.AssumeRoleProvider._get_role_config = get_role_config


def region_ok(region):
    try:
        botocore.utils.validate_region_name(region)
        return True
    except Exception:
        return False


def lineage_region(profiles, target):
    """aws-runas's deliberate rule, on botocore's own profile map: a role profile inherits
    `region` from the profiles its chain passes, up to the one whose keys start it."""
    name, seen, first = target, set(), True
    while name in profiles and name not in seen:
        seen.add(name)
        p = profiles[name]
        if p.get("region"):
            return p["region"]
        has_keys = "aws_access_key_id" in p or "aws_secret_access_key" in p
        if (not first and has_keys) or not p.get("role_arn"):
            return None
        name, first = p.get("source_profile"), False
    return None


def named_directory():
    """Whether a file variable names a directory, as botocore expands it (botocore reads no
    file there; aws-runas refuses it)."""
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        value = os.environ.get(variable)
        if value and os.path.isdir(os.path.expanduser(os.path.expandvars(value))):
            return True
    return False


def resolve(case):
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    os.environ["HOME"] = case["home"]
    os.environ["AWS_CONFIG_FILE"] = case["config"]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = case["credentials"]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for k, v in case["env"].items():
        if v == "{unset}":
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    CALLS.clear()
    KEYS_WELL_FORMED.clear()
    UNREADABLE_DURATIONS.clear()
    out = {"named_directory": named_directory()}
    try:
        session = botocore.session.Session(profile=case["target"])
        creds = session.get_credentials()
        if creds is None:
            raise botocore.exceptions.NoCredentialsError()
        frozen = creds.get_frozen_credentials()
        region = session.get_config_variable("region")
        botocore.utils.validate_region_name(region)
        out["region"] = region or None
        target = case["target"] or session.profile or "default"
        inherited = lineage_region(session.full_config["profiles"], target)
        out["lineage_region"] = inherited
        out["lineage_region_ok"] = inherited is None or region_ok(inherited)
        out["unreadable_durations"] = list(UNREADABLE_DURATIONS)
        out["key"] = frozen.access_key
        # Temporary keys with no call to make are handed out as they are: compared whole.
        out["handed"] = [frozen.secret_key, frozen.token] if frozen.token and not CALLS else None
        out["keys_well_formed"] = all(KEYS_WELL_FORMED) if CALLS else well_formed(frozen)
        out["hops"] = [
            {
                "signer": c["signer"],
                "role_arn": c["RoleArn"],
                "external_id": c.get("ExternalId"),
                # botocore's default name is its own; only configured names are compared.
                "session_name": None
                if c["RoleSessionName"].startswith("botocore-session-")
                else c["RoleSessionName"],
                "duration": c.get("DurationSeconds", 3600),
            }
            for c in CALLS
        ]
    except Exception as e:  # every failure is an outcome to compare, not a harness error
        out["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    return out


def main():
    cases = json.load(sys.stdin)
    json.dump([resolve(c) for c in cases], sys.stdout)


main()
