"""Provider token formats: a table of rules, data only (compiled by `detector`).

Each rule has literal `hints` (at least one must occur in the text, case-sensitively,
before its regex runs: the cheap prefilter), a pattern whose group `body` (or the whole
match) is the random part checked by `looks_random`, a type, a score and an explanation
that names the format, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    type: str
    pattern: str
    hints: tuple[str, ...]
    explanation: str
    score: float = 0.97
    random: bool = True        # the body must look random (False: the format is proof enough)
    body_span: bool = False    # report only the `body` group (the key name before it stays)


B = r"(?<![A-Za-z0-9_-])"      # token start: not inside a longer word
E = r"(?![A-Za-z0-9_-])"       # token end

RULES: tuple[Rule, ...] = (
    # cloud providers
    Rule("AWS_ACCESS_KEY", rf"{B}(?P<body>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{{16}}){E}",
         ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), "AWS access key id", random=False),
    Rule("GCP_API_KEY", rf"{B}AIza(?P<body>[0-9A-Za-z_-]{{35}}){E}", ("AIza",),
         "Google Cloud API key (AIza prefix)"),
    Rule("GOOGLE_OAUTH_SECRET", rf"{B}GOCSPX-(?P<body>[0-9A-Za-z_-]{{28}}){E}", ("GOCSPX-",),
         "Google OAuth client secret (GOCSPX- prefix)"),
    Rule("GOOGLE_OAUTH_TOKEN", rf"{B}ya29\.(?P<body>[0-9A-Za-z_-]{{30,}}){E}", ("ya29.",),
         "Google OAuth access token (ya29. prefix)"),
    Rule("AZURE_STORAGE_KEY",
         r"AccountKey=(?P<body>[A-Za-z0-9+/]{86}==)", ("AccountKey=",),
         "Azure storage account key in a connection string", body_span=True),
    Rule("AZURE_CONNECTION_STRING",
         r"SharedAccessKey=(?P<body>[A-Za-z0-9+/]{42,44}=?)", ("SharedAccessKey=",),
         "Azure Service Bus / Event Hubs shared access key", body_span=True),
    Rule("AZURE_SAS_TOKEN",
         r"[?&]sig=(?P<body>[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})", ("sig=",),
         "Azure shared access signature (sig= parameter)", body_span=True),
    Rule("AZURE_CLIENT_SECRET",
         rf"{B}(?P<body>[A-Za-z0-9_~.]{{3}}\dQ~[A-Za-z0-9_~.-]{{31,34}}){E}", ("Q~",),
         "Azure AD client secret"),
    Rule("DIGITALOCEAN_TOKEN", rf"{B}do[opr]_v1_(?P<body>[a-f0-9]{{64}}){E}",
         ("doo_v1_", "dop_v1_", "dor_v1_"), "DigitalOcean token"),
    # source hosting and package registries
    Rule("GITHUB_TOKEN", rf"{B}gh[pousr]_(?P<body>[A-Za-z0-9]{{36}}){E}",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), "GitHub token (gh?_ prefix)"),
    Rule("GITHUB_TOKEN", rf"{B}github_pat_(?P<body>[A-Za-z0-9]{{22}}_[A-Za-z0-9]{{59}}){E}",
         ("github_pat_",), "GitHub fine-grained personal access token"),
    Rule("GITLAB_TOKEN", rf"{B}gl(?:pat|dt|rt|ptt|soat|cbt)-(?P<body>[0-9A-Za-z_.-]{{20,}}){E}",
         ("glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-"), "GitLab token"),
    Rule("NPM_TOKEN", rf"{B}npm_(?P<body>[A-Za-z0-9]{{36}}){E}", ("npm_",), "npm access token"),
    Rule("PYPI_TOKEN", rf"{B}pypi-AgEIcHlwaS5vcmc(?P<body>[A-Za-z0-9_-]{{50,}}){E}",
         ("pypi-AgEIcHlwaS5vcmc",), "PyPI API token"),
    Rule("HUGGINGFACE_TOKEN", rf"{B}hf_(?P<body>[A-Za-z0-9]{{34,40}}){E}", ("hf_",),
         "Hugging Face access token"),
    # messaging, payments, email
    Rule("SLACK_TOKEN", rf"{B}xox[abposr]-(?P<body>[0-9A-Za-z-]{{10,}}){E}",
         ("xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-"), "Slack token (xox? prefix)"),
    Rule("SLACK_TOKEN", rf"{B}xapp-\d-(?P<body>[A-Z0-9]+-\d+-[a-z0-9]{{32,}}){E}", ("xapp-",),
         "Slack app-level token"),
    Rule("SLACK_WEBHOOK",
         r"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]+/B[A-Z0-9]+/"
         r"(?P<body>[A-Za-z0-9]{24})", ("hooks.slack.com",), "Slack incoming webhook URL"),
    Rule("STRIPE_KEY", rf"{B}(?:sk|rk)_live_(?P<body>[0-9A-Za-z]{{24,99}}){E}",
         ("sk_live_", "rk_live_"), "Stripe live secret or restricted key"),
    Rule("STRIPE_KEY", rf"{B}whsec_(?P<body>[0-9A-Za-z]{{32,}}){E}", ("whsec_",),
         "Stripe webhook signing secret"),
    Rule("TWILIO_API_KEY", rf"{B}SK(?P<body>[0-9a-f]{{32}}){E}", ("SK",), "Twilio API key",
         score=0.9),
    Rule("SENDGRID_API_KEY", rf"{B}SG\.(?P<body>[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}){E}",
         ("SG.",), "SendGrid API key"),
    Rule("MAILGUN_API_KEY", rf"{B}key-(?P<body>[0-9a-f]{{32}}){E}", ("key-",),
         "Mailgun API key", score=0.9),
    Rule("TELEGRAM_BOT_TOKEN", rf"{B}\d{{8,10}}:(?P<body>AA[0-9A-Za-z_-]{{33}}){E}", (":AA",),
         "Telegram bot token"),
    # AI providers
    Rule("ANTHROPIC_API_KEY", rf"{B}sk-ant-(?:api|admin)\d\d-(?P<body>[A-Za-z0-9_-]{{80,120}}){E}",
         ("sk-ant-",), "Anthropic API key"),
    Rule("OPENAI_API_KEY", rf"{B}sk-(?:proj|svcacct|admin)-(?P<body>[A-Za-z0-9_-]{{40,200}}){E}",
         ("sk-proj-", "sk-svcacct-", "sk-admin-"), "OpenAI project or service-account key"),
    Rule("OPENAI_API_KEY", rf"{B}sk-(?P<body>[A-Za-z0-9]{{20}}T3BlbkFJ[A-Za-z0-9]{{20}}){E}",
         ("T3BlbkFJ",), "OpenAI API key"),
    Rule("OPENAI_API_KEY", rf"{B}sk-(?P<body>[A-Za-z0-9]{{32,64}}){E}", ("sk-",),
         "API key with the sk- prefix (OpenAI-style)", score=0.85),
    Rule("GROQ_API_KEY", rf"{B}gsk_(?P<body>[A-Za-z0-9]{{52}}){E}", ("gsk_",), "Groq API key"),
    Rule("XAI_API_KEY", rf"{B}xai-(?P<body>[A-Za-z0-9]{{80}}){E}", ("xai-",), "xAI API key"),
    Rule("PERPLEXITY_API_KEY", rf"{B}pplx-(?P<body>[A-Za-z0-9]{{48}}){E}", ("pplx-",),
         "Perplexity API key"),
    Rule("REPLICATE_API_TOKEN", rf"{B}r8_(?P<body>[A-Za-z0-9]{{37}}){E}", ("r8_",),
         "Replicate API token"),
    Rule("LANGSMITH_API_KEY", rf"{B}lsv2_(?:pt|sk)_(?P<body>[a-f0-9]{{32}}_[a-f0-9]{{10}}){E}",
         ("lsv2_",), "LangSmith API key"),
    # SaaS and infrastructure
    Rule("SHOPIFY_TOKEN", rf"{B}shp(?:at|ca|pa|ss)_(?P<body>[a-fA-F0-9]{{32}}){E}",
         ("shpat_", "shpca_", "shppa_", "shpss_"), "Shopify access token"),
    Rule("DATADOG_API_KEY", rf"{B}ddap[ip]_(?P<body>[A-Za-z0-9]{{32,40}}){E}", ("ddap",),
         "Datadog key"),
    Rule("DATABRICKS_TOKEN", rf"{B}dapi(?P<body>[a-f0-9]{{32}})(?:-\d)?{E}", ("dapi",),
         "Databricks access token"),
    Rule("HASHICORP_VAULT_TOKEN", rf"{B}hv[sb]\.(?P<body>[A-Za-z0-9_-]{{24,}}){E}",
         ("hvs.", "hvb."), "HashiCorp Vault token"),
    Rule("DOPPLER_TOKEN", rf"{B}dp\.(?:pt|st|sa|ct|scim|audit)\.(?P<body>[A-Za-z0-9]{{40,44}}){E}",
         ("dp.",), "Doppler token"),
    Rule("POSTMAN_API_KEY", rf"{B}PMAK-(?P<body>[a-f0-9]{{24}}-[a-f0-9]{{34}}){E}", ("PMAK-",),
         "Postman API key"),
    Rule("GRAFANA_TOKEN", rf"{B}glsa_(?P<body>[A-Za-z0-9]{{32}}_[A-Fa-f0-9]{{8}}){E}",
         ("glsa_",), "Grafana service-account token"),
    Rule("LINEAR_API_KEY", rf"{B}lin_api_(?P<body>[A-Za-z0-9]{{40}}){E}", ("lin_api_",),
         "Linear API key"),
    Rule("SQUARE_TOKEN", rf"{B}sq0(?:atp|csp)-(?P<body>[0-9A-Za-z_-]{{22,43}}){E}",
         ("sq0atp-", "sq0csp-"), "Square access token or secret"),
    Rule("TAILSCALE_KEY", rf"{B}tskey-(?:api|auth|client)-(?P<body>[A-Za-z0-9]+-[A-Za-z0-9]+){E}",
         ("tskey-",), "Tailscale key"),
    Rule("NOTION_TOKEN", rf"{B}(?:secret_|ntn_)(?P<body>[A-Za-z0-9]{{43,46}}){E}",
         ("secret_", "ntn_"), "Notion integration token"),
    Rule("ATLASSIAN_API_TOKEN", rf"{B}ATATT3(?P<body>[A-Za-z0-9_=-]{{150,300}}){E}",
         ("ATATT3",), "Atlassian API token"),
    Rule("SENTRY_TOKEN", rf"{B}sntr[ysu]_(?P<body>[A-Za-z0-9+/=_-]{{40,}}){E}",
         ("sntrys_", "sntryu_"), "Sentry auth token"),
    Rule("TAPPASS_KEY", rf"{B}tp_(?:admin_)?(?P<body>[A-Za-z0-9_-]{{32,64}}){E}", ("tp_",),
         "TapPass API key", score=0.9),
)
