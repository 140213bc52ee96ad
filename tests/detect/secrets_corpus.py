"""A labelled secrets corpus, generated deterministically: fake but format-valid values.

Every value is drawn from a seeded `random.Random`, so the corpus is the same on every run
and contains no real secret. Positives are each format alone (where the format is
recognisable alone) and inside the containers where secrets leak: `.env`, shell exports
and history, YAML, JSON, code in Python / JavaScript / Go / Java / Terraform, logs,
Kubernetes Secrets and Deployments, `.npmrc` / `.pypirc`, connection strings, URLs.
Negatives are the look-alikes: documentation examples, placeholders, references to
variables, hashes, UUIDs, base64 of ordinary data, and keys that only sound secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
BASE32 = string.ascii_uppercase + "234567"
PASSWORD_CHARS = ALNUM + "!#%^*-_+="


@dataclass(frozen=True, slots=True)
class Expected:
    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Case:
    format: str          # the secret format, or the look-alike category for negatives
    container: str
    text: str
    expected: tuple[Expected, ...]


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def s(self, chars: str, n: int) -> str:
        return "".join(self.rng.choice(chars) for _ in range(n))

    def b64(self, n_bytes: int) -> str:
        return base64.b64encode(self.rng.randbytes(n_bytes)).decode()

    def b64url(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    def password(self) -> str:
        return self.s(string.ascii_letters, 1) + self.s(PASSWORD_CHARS, self.rng.randint(9, 17)) \
            + self.s(string.digits, 1)


# --- formats: (type, key name used in containers, generator, recognisable alone) -----------

@dataclass(frozen=True, slots=True)
class Format:
    name: str
    type: str
    key: str
    make: Callable[[Gen], str]
    alone: bool = True


def _jwt(g: Gen) -> str:
    header = g.b64url(json.dumps({"alg": g.rng.choice(["HS256", "RS256", "ES256"]),
                                  "typ": "JWT"}).encode())
    issued = g.rng.randint(1_600_000_000, 1_800_000_000)
    payload = g.b64url(json.dumps({"sub": g.s(HEX, 12), "iat": issued,
                                   "scope": "read write"}).encode())
    return f"{header}.{payload}.{g.b64url(g.rng.randbytes(32))}"


def _pem(g: Gen, kind: str = "RSA ") -> str:
    body = g.b64(900)
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{lines}\n-----END {kind}PRIVATE KEY-----"


FORMATS: tuple[Format, ...] = (
    Format("aws_access_key", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
           lambda g: "AKIA" + g.s(BASE32, 16)),
    Format("aws_session_key", "AWS_ACCESS_KEY", "aws_access_key_id",
           lambda g: "ASIA" + g.s(BASE32, 16)),
    Format("aws_secret_key", "AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
           lambda g: g.s(B64, 40), alone=False),
    Format("gcp_api_key", "GCP_API_KEY", "GOOGLE_API_KEY", lambda g: "AIza" + g.s(URLSAFE, 35)),
    Format("google_oauth_secret", "GOOGLE_OAUTH_SECRET", "GOOGLE_CLIENT_SECRET",
           lambda g: "GOCSPX-" + g.s(URLSAFE, 28)),
    Format("google_oauth_token", "GOOGLE_OAUTH_TOKEN", "access_token",
           lambda g: "ya29." + g.s(URLSAFE, 120)),
    Format("azure_client_secret", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_SECRET",
           lambda g: g.s(ALNUM, 3) + g.s(string.digits, 1) + "Q~" + g.s(ALNUM + "_~.-", 34)),
    Format("github_pat_classic", "GITHUB_TOKEN", "GITHUB_TOKEN", lambda g: "ghp_" + g.s(ALNUM, 36)),
    Format("github_oauth", "GITHUB_TOKEN", "GH_TOKEN", lambda g: "gho_" + g.s(ALNUM, 36)),
    Format("github_app", "GITHUB_TOKEN", "GITHUB_TOKEN", lambda g: "ghs_" + g.s(ALNUM, 36)),
    Format("github_fine_grained", "GITHUB_TOKEN", "GITHUB_TOKEN",
           lambda g: "github_pat_" + g.s(ALNUM, 22) + "_" + g.s(ALNUM, 59)),
    Format("gitlab_pat", "GITLAB_TOKEN", "GITLAB_TOKEN", lambda g: "glpat-" + g.s(URLSAFE, 20)),
    Format("slack_bot", "SLACK_TOKEN", "SLACK_BOT_TOKEN",
           lambda g: f"xoxb-{g.s(string.digits, 12)}-{g.s(string.digits, 13)}-{g.s(ALNUM, 24)}"),
    Format("slack_user", "SLACK_TOKEN", "SLACK_TOKEN",
           lambda g: f"xoxp-{g.s(string.digits, 12)}-{g.s(string.digits, 12)}-"
                     f"{g.s(string.digits, 13)}-{g.s(HEX, 32)}"),
    Format("slack_webhook", "SLACK_WEBHOOK", "SLACK_WEBHOOK_URL",
           lambda g: f"https://hooks.slack.com/services/T{g.s(BASE32, 10)}/B{g.s(BASE32, 10)}/"
                     f"{g.s(ALNUM, 24)}"),
    Format("stripe_live", "STRIPE_KEY", "STRIPE_SECRET_KEY",
           lambda g: "sk_live_" + g.s(ALNUM, g.rng.choice([24, 99]))),
    Format("stripe_restricted", "STRIPE_KEY", "STRIPE_KEY", lambda g: "rk_live_" + g.s(ALNUM, 99)),
    Format("openai_project", "OPENAI_API_KEY", "OPENAI_API_KEY",
           lambda g: "sk-proj-" + g.s(URLSAFE, 156)),
    Format("openai_legacy", "OPENAI_API_KEY", "OPENAI_API_KEY",
           lambda g: "sk-" + g.s(ALNUM, 20) + "T3BlbkFJ" + g.s(ALNUM, 20)),
    Format("anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY",
           lambda g: "sk-ant-api03-" + g.s(URLSAFE, 93) + "AA"),
    Format("twilio_api_key", "TWILIO_API_KEY", "TWILIO_API_KEY", lambda g: "SK" + g.s(HEX, 32)),
    Format("twilio_auth_token", "TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN",
           lambda g: g.s(HEX, 32), alone=False),
    Format("sendgrid", "SENDGRID_API_KEY", "SENDGRID_API_KEY",
           lambda g: f"SG.{g.s(URLSAFE, 22)}.{g.s(URLSAFE, 43)}"),
    Format("npm", "NPM_TOKEN", "NPM_TOKEN", lambda g: "npm_" + g.s(ALNUM, 36)),
    Format("pypi", "PYPI_TOKEN", "password", lambda g: "pypi-AgEIcHlwaS5vcmc" + g.s(URLSAFE, 70)),
    Format("huggingface", "HUGGINGFACE_TOKEN", "HF_TOKEN",
           lambda g: "hf_" + g.s(string.ascii_letters, 34)),
    Format("mailgun", "MAILGUN_API_KEY", "MAILGUN_API_KEY", lambda g: "key-" + g.s(HEX, 32)),
    Format("datadog", "DATADOG_API_KEY", "DD_API_KEY", lambda g: g.s(HEX, 32), alone=False),
    Format("shopify", "SHOPIFY_TOKEN", "SHOPIFY_ACCESS_TOKEN", lambda g: "shpat_" + g.s(HEX, 32)),
    Format("digitalocean", "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_TOKEN",
           lambda g: "dop_v1_" + g.s(HEX, 64)),
    Format("groq", "GROQ_API_KEY", "GROQ_API_KEY", lambda g: "gsk_" + g.s(ALNUM, 52)),
    Format("databricks", "DATABRICKS_TOKEN", "DATABRICKS_TOKEN", lambda g: "dapi" + g.s(HEX, 32)),
    Format("vault", "HASHICORP_VAULT_TOKEN", "VAULT_TOKEN", lambda g: "hvs." + g.s(URLSAFE, 90)),
    Format("telegram", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN",
           lambda g: f"{g.s(string.digits, 10)}:AA{g.s(URLSAFE, 33)}"),
    Format("tappass", "TAPPASS_KEY", "TAPPASS_API_KEY", lambda g: "tp_" + g.s(URLSAFE, 43)),
    Format("jwt", "JWT", "id_token", _jwt),
    Format("generic_api_key", "GENERIC_SECRET", "API_KEY", lambda g: g.s(ALNUM, 32),
           alone=False),
    Format("generic_client_secret", "GENERIC_SECRET", "client_secret",
           lambda g: g.s(URLSAFE, 40), alone=False),
    Format("generic_signing_secret", "GENERIC_SECRET", "WEBHOOK_SIGNING_SECRET",
           lambda g: g.b64(32), alone=False),
    Format("password", "PASSWORD", "DB_PASSWORD", lambda g: g.password(), alone=False),
)

# --- containers: key + value -> text, with the value's span ------------------------------

Container = Callable[[Gen, str, str], tuple[str, str]]  # -> (prefix, suffix) around the value


def _camel(key: str) -> str:
    parts = key.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


CONTAINERS: dict[str, Container] = {
    "env": lambda g, k, v: (f"# production settings\nDEBUG=false\n{k}=", "\nPORT=8080\n"),
    "env_quoted": lambda g, k, v: (f'LOG_LEVEL=info\n{k}="', '"\n'),
    "shell_export": lambda g, k, v: (f"$ export {k}=", "\n$ python manage.py runserver\n"),
    "yaml": lambda g, k, v: (f"service:\n  name: billing\n  {k.lower()}: ", "\n  port: 8443\n"),
    "json": lambda g, k, v: (f'{{"name": "billing", "{k.lower()}": "', '", "retries": 3}'),
    "python": lambda g, k, v: (f'client = Client(\n    {k.lower()}="', '",\n    timeout=30,\n)'),
    "javascript": lambda g, k, v: (f"const {_camel(k)} = '", "';\nexport default { region };"),
    "go": lambda g, k, v: (f'func init() {{\n\tos.Setenv("{k}", "', '")\n}}'),
    "java": lambda g, k, v: (f'    private static final String {k} = "', '";'),
    "terraform": lambda g, k, v: (f'provider "x" {{\n  {k.lower()} = "', '"\n}'),
    "log": lambda g, k, v: (f"2025-03-14T09:26:53.120Z DEBUG config loaded {k.lower()}=",
                            " region=eu-west-1"),
    "k8s_deployment": lambda g, k, v: (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        f"      containers:\n        - name: api\n          env:\n            - name: {k}\n"
        "              value: \"", "\"\n"),
    "docker_compose": lambda g, k, v: (f"services:\n  api:\n    environment:\n      - {k}=", "\n"),
}
ALONE: dict[str, Container] = {
    "prose": lambda g, k, v: ("I keep getting 401s with this key ", " — can you see why?"),
    "chat_code_block": lambda g, k, v: ("Here is the failing call:\n```\nclient.auth(\"",
                                        "\")\n```\nThanks!"),
    "shell_history": lambda g, k, v: (f"  {g.rng.randint(100, 999)}  curl -s -u ", ": "
                                      "https://api.internal.test/v1/me\n  2  ls -la\n"),
}


def _case(fmt: str, container: str, prefix: str, value: str, suffix: str,
          kind: str) -> Case:
    return Case(fmt, container, prefix + value + suffix,
                (Expected(kind, len(prefix), len(prefix) + len(value)),))


def positives(g: Gen) -> Iterator[Case]:
    for spec in FORMATS:
        for name, container in CONTAINERS.items():
            value = spec.make(g)
            if spec.type == "JWT" and name == "k8s_deployment":
                continue
            prefix, suffix = container(g, spec.key, value)
            yield _case(spec.name, name, prefix, value, suffix, spec.type)
        if spec.alone:
            for name, container in ALONE.items():
                value = spec.make(g)
                prefix, suffix = container(g, spec.key, value)
                yield _case(spec.name, name, prefix, value, suffix, spec.type)
    yield from _structured_positives(g)


def _structured_positives(g: Gen) -> Iterator[Case]:
    for kind in ("RSA ", "EC ", "OPENSSH ", ""):
        pem = _pem(g, kind)
        yield _case("private_key", "pem_file", "", pem, "\n", "PRIVATE_KEY")
        yield _case("private_key", "chat", "Why does ssh reject this key?\n\n", pem,
                    "\n\nIt worked yesterday.", "PRIVATE_KEY")
    sa_key = _pem(g, "").replace("\n", "\\n")
    prefix = ('{\n  "type": "service_account",\n  "project_id": "billing-prod",\n'
              f'  "private_key_id": "{g.s(HEX, 40)}",\n  "private_key": "')
    yield _case("gcp_service_account", "json", prefix, sa_key,
                '",\n  "client_email": "ci@billing-prod.iam.gserviceaccount.com"\n}',
                "GCP_SERVICE_ACCOUNT_KEY")
    for _ in range(3):
        yield from _connection_strings(g)
    for _ in range(3):
        yield from _header_and_k8s(g)


def _connection_strings(g: Gen) -> Iterator[Case]:
    pw = g.s(ALNUM + "!*-_", 16)
    for scheme, port in (("postgresql", 5432), ("mysql", 3306), ("mongodb+srv", None),
                         ("redis", 6379), ("amqps", 5671)):
        host = f"{g.s(string.ascii_lowercase, 8)}.db.internal" + (f":{port}" if port else "")
        user = "" if scheme == "redis" else g.rng.choice(["app", "svc_billing", "admin"])
        prefix = f"DATABASE_URL={scheme}://{user}:"
        yield _case(f"url_{scheme}", "env", prefix, pw, f"@{host}/prod\n", "CONNECTION_STRING")
        yield _case(f"url_{scheme}", "yaml", f"db:\n  url: \"{scheme}://{user}:", pw,
                    f"@{host}/prod\"\n", "CONNECTION_STRING")
    yield _case("url_https", "prose", "clone it from https://deploy:", pw,
                "@git.corp.test/team/app.git please", "URL_WITH_PASSWORD")
    ado = "Server=tcp:sql-prod.database.windows.net,1433;Database=orders;User ID=app;Password="
    yield _case("ado_net", "appsettings", ado, pw, ";Encrypt=true;", "CONNECTION_STRING")
    jdbc = "jdbc:postgresql://db.internal:5432/orders?user=app&password="
    yield _case("jdbc", "properties", "spring.datasource.url=" + jdbc, pw, "&ssl=true\n",
                "CONNECTION_STRING")
    account = g.b64(64)
    azure = f"DefaultEndpointsProtocol=https;AccountName={g.s(string.ascii_lowercase, 10)};" \
            "AccountKey="
    yield _case("azure_storage", "connection_string", azure, account,
                ";EndpointSuffix=core.windows.net", "AZURE_STORAGE_KEY")
    sas = ("https://acct.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r"
           "&se=2026-01-01T00:00:00Z&sig=")
    yield _case("azure_sas", "url", sas, g.b64(32).replace("=", "%3D"), "", "AZURE_SAS_TOKEN")
    sb = f"Endpoint=sb://{g.s(string.ascii_lowercase, 8)}.servicebus.windows.net/;" \
         "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="
    yield _case("azure_service_bus", "connection_string", sb, g.b64(32), "",
                "AZURE_CONNECTION_STRING")


def _header_and_k8s(g: Gen) -> Iterator[Case]:
    token = g.s(ALNUM, 40)
    yield _case("bearer", "shell_history", '  88  curl -H "Authorization: Bearer ', token,
                '" https://api.corp.test/v2/orders\n', "BEARER_TOKEN")
    yield _case("bearer", "log", '2025-03-14 10:00:01 INFO outbound headers={"Authorization": '
                '"Bearer ', token, '", "Accept": "application/json"}', "BEARER_TOKEN")
    yield _case("api_key_header", "http", "GET /v1/items HTTP/1.1\nHost: api.test\nX-Api-Key: ",
                token, "\n", "BEARER_TOKEN")
    pw = g.password()
    encoded = base64.b64encode(pw.encode()).decode()
    prefix = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\n"
              "data:\n  username: YXBw\n  db-pass: ")
    yield _case("k8s_secret_data", "k8s_secret", prefix, encoded, "\n", "KUBERNETES_SECRET")
    prefix = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: smtp\nstringData:\n"
              "  host: smtp.corp.test\n  smtp-credential: ")
    yield _case("k8s_secret_string", "k8s_secret", prefix, pw, "\n", "KUBERNETES_SECRET")
    yield _case("cli_flag", "shell_history", "  17  mysql -h db.internal -u root --password ",
                pw, " orders\n", "PASSWORD")
    yield _case("npmrc", "npmrc", "registry=https://registry.npmjs.org/\n"
                "//registry.npmjs.org/:_authToken=", g.s(URLSAFE, 40), "\n", "GENERIC_SECRET")
    yield _case("xml", "xml", "<datasource>\n  <user>app</user>\n  <password>", pw,
                "</password>\n</datasource>", "PASSWORD")
    yield _case("netrc", "netrc", "machine api.heroku.com\n  login me@corp.test\n  password ",
                g.s(ALNUM, 32), "\n", "PASSWORD")
    auth = base64.b64encode(f"ci:{pw}".encode()).decode()
    yield _case("docker_config", "json", '{"auths": {"registry.corp.test": {"auth": "', auth,
                '"}}}', "BASIC_AUTH")
    yield _case("query_param", "url", "https://api.weather.test/v1/forecast?city=Paris&api_key=",
                g.s(HEX, 32), "&units=metric", "GENERIC_SECRET")


# --- negatives ----------------------------------------------------------------------------

_PLACEHOLDERS = (
    "<YOUR_API_KEY>", "sk-...", "xxxx", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "${OPENAI_API_KEY}", "$GITHUB_TOKEN", "{{ .Values.db.password }}", "changeme",
    "your-api-key-here", "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "********",
    "<password>", "REPLACE_ME", "None", "null", "sk-proj-...", "AKIA...", "your_token_here",
    "%(password)s", "{password}", "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX", "<redacted>", "...",
    "sk-ant-api03-...", "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$(cat /run/secrets/db)",
    "ENC[AES256_GCM,data:...]", "glpat-xxxxxxxxxxxxxxxxxxxx", "secret", "password",
    "insert-your-key", "TODO", "dummy-token-for-tests", "test",
)
_DOC_EXAMPLES = (
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4g"
              "RG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("DATABASE_URL", "postgres://user:password@localhost:5432/mydb"),
    ("REDIS_URL", "redis://:password@localhost:6379/0"),
    ("url", "https://user:pass@example.com/path"),
    ("MONGO_URI", "mongodb://username:<password>@cluster0.example.net/test"),
    ("STRIPE_KEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_live_51HxYz000000000000000000"),
    ("key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"),
    ("key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg...(truncated)\n-----END PRIVATE KEY-----"),
)


def negatives(g: Gen) -> Iterator[Case]:
    containers = dict(CONTAINERS)
    for value in _PLACEHOLDERS:
        key = g.rng.choice(["OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "client_secret",
                            "API_KEY", "SLACK_TOKEN"])
        for name in ("env", "yaml", "json", "python", "k8s_deployment"):
            prefix, suffix = containers[name](g, key, value)
            yield Case("placeholder", name, prefix + value + suffix, ())
        yield Case("placeholder", "prose", f"Set {key} to {value} before running.", ())
    for key, value in _DOC_EXAMPLES:
        for name in ("env", "json", "python"):
            prefix, suffix = containers[name](g, key, value)
            yield Case("documentation_example", name, prefix + value + suffix, ())
        yield Case("documentation_example", "prose",
                   f"The docs show {value} as the example value.", ())
    yield from _hashes(g)
    yield from _uuids_and_base64(g)
    yield from _innocent_keys(g)
    yield from _code_references()


def _hashes(g: Gen) -> Iterator[Case]:
    for _ in range(6):
        sha1 = hashlib.sha1(g.rng.randbytes(16)).hexdigest()
        sha256 = hashlib.sha256(g.rng.randbytes(16)).hexdigest()
        sha512 = base64.b64encode(hashlib.sha512(g.rng.randbytes(16)).digest()).decode()
        md5 = hashlib.md5(g.rng.randbytes(16)).hexdigest()  # noqa: S324 (test data)
        yield Case("hash", "git_log", f"commit {sha1}\nAuthor: Dev <dev@corp.test>\n\n"
                   f"    fix: retry on 502 (cherry picked from commit {sha1[:12]})\n", ())
        yield Case("hash", "package_lock", f'"node_modules/left-pad": {{\n  "version": "1.3.0",\n'
                   f'  "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n'
                   f'  "integrity": "sha512-{sha512}"\n}}', ())
        yield Case("hash", "poetry_lock", f'[[package]]\nname = "idna"\nfiles = [\n  '
                   f'{{file = "idna-3.7.tar.gz", hash = "sha256:{sha256}"}},\n]', ())
        yield Case("hash", "cargo_lock",
                   f'[[package]]\nname = "serde"\nchecksum = "{sha256}"\n', ())
        yield Case("hash", "docker", f"image: ghcr.io/corp/api@sha256:{sha256}\n", ())
        yield Case("hash", "checksums",
                   f"{sha256}  tappass-1.2.0.tar.gz\n{md5}  README.md\n", ())
        yield Case("hash", "log", f"2025-03-14 10:00:02 INFO build {sha1[:7]} deployed, "
                   f"artifact digest sha256:{sha256}", ())


def _uuids_and_base64(g: Gen) -> Iterator[Case]:
    for _ in range(6):
        ident = str(uuid.UUID(bytes=g.rng.randbytes(16), version=4))
        yield Case("uuid", "json", f'{{"request_id": "{ident}", "status": "ok"}}', ())
        yield Case("uuid", "log", f"2025-03-14 10:00:03 WARN trace_id={ident} slow query", ())
        yield Case("uuid", "http", f"X-Request-Id: {ident}\nX-Session-Token-Id: {ident}\n", ())
        yield Case("uuid", "yaml", f"tenant:\n  id: {ident}\n  idempotency_token: {ident}\n", ())
    sentences = ("Hello world, this is a perfectly ordinary sentence.",
                 "Meeting notes: ship the billing export on Friday.",
                 "The quick brown fox jumps over the lazy dog")
    for sentence in sentences:
        encoded = base64.b64encode(sentence.encode()).decode()
        yield Case("base64_data", "json", f'{{"content": "{encoded}", "encoding": "base64"}}', ())
        yield Case("base64_data", "yaml", f"note:\n  body: {encoded}\n  token_hint: {encoded}\n",
                   ())
    image = base64.b64encode(g.rng.randbytes(300)).decode()
    yield Case("base64_data", "data_uri", f'<img src="data:image/png;base64,{image}">', ())
    yield Case("base64_data", "json", f'{{"type": "image_url", "image_url": {{"url": '
               f'"data:image/jpeg;base64,{image}"}}}}', ())


def _innocent_keys(g: Gen) -> Iterator[Case]:
    texts = (
        "max_tokens: 4096\ntemperature: 0.2\n",
        '{"usage": {"prompt_tokens": 1532, "completion_tokens": 211, "total_tokens": 1743}}',
        "password_min_length: 12\npassword_policy: strict\n",
        "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n"
        "        name: db-credentials\n        key: password\n",
        "metadata:\n  labels:\n    key: app.kubernetes.io/name\n",
        "auth: true\ntoken_type: Bearer\nauth_url: https://login.corp.test/oauth2/token\n",
        '{"author": "Jane Doe", "keywords": ["billing", "export"]}',
        "API_KEY_HEADER=X-Api-Key\nTOKEN_ENDPOINT=https://login.corp.test/token\n",
        "PASSWORD_RESET_URL=https://corp.test/reset\nSECRET_NAME=prod/db/credentials\n",
        "tests passed: 15, failed: 0\n",
        "Please rotate the GitHub token and the Stripe secret key before Friday.",
        "The password must contain at least 12 characters, including a digit.",
        "Set your OPENAI_API_KEY environment variable and restart the shell.",
        "customer: cus_NffrFeUfNV2Hib\ninvoice: in_1MtHbELkdIwHu7ixl4OzzPMv\n",
        "arn:aws:iam::123456789012:role/deploy\nregion: eu-west-1\n",
        "keyboard layout: us\nhotkey: ctrl+shift+k\n",
        "auth: true\nauths: {}\n",
        "Password reset required for 3 accounts.\nToken expired yesterday.\n",
        "secretKeyRef:\n  name: api-keys\n  key: openai\n",
        "cache_key = f\"user:{user_id}:profile\"\n",
        "Use a personal access token with repo scope; see Settings > Developer settings.",
        "The API key for the sandbox lives in 1Password under 'Billing sandbox'.",
        "AKIA is the prefix of long-term AWS access key ids; ASIA marks temporary ones.",
        "Our tokens look like ghp_ followed by 36 characters.",
    )
    for text in texts:
        yield Case("innocent_key", "config", text, ())


def _code_references() -> Iterator[Case]:
    texts = (
        'api_key = os.environ["OPENAI_API_KEY"]\n',
        "token = request.headers.get(\"Authorization\")\n",
        'password = getpass.getpass("Password: ")\n',
        "const apiKey = process.env.STRIPE_KEY;\n",
        "apiKey: config.apiKey,\n",
        "secret = settings.SECRET_KEY\n",
        "password := os.Getenv(\"DB_PASSWORD\")\n",
        "String token = System.getenv(\"GITHUB_TOKEN\");\n",
        "client_secret = vault.read(\"secret/data/oauth\")[\"client_secret\"]\n",
        "export GITHUB_TOKEN=$(gh auth token)\n",
        "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n",
        "DB_PASSWORD: ${DB_PASSWORD:?required}\n",
        "def check_password(password: str, hashed: bytes) -> bool:\n",
        "if token is None:\n    raise AuthError('missing token')\n",
        "headers = {\"Authorization\": f\"Bearer {access_token}\"}\n",
        "aws_secret_access_key = credentials.secret_key\n",
    )
    for text in texts:
        yield Case("code_reference", "code", text, ())


def corpus(seed: int = 20251130) -> list[Case]:
    g = Gen(seed)
    return [*positives(g), *negatives(g)]
