"""Code execution: text that makes a machine run code it did not ship with.

`detect_code_execution(text)` finds reverse shells (`bash -i >& /dev/tcp/...`, `nc -e`,
`mkfifo ... nc`, Python/Perl/PHP/PowerShell socket one-liners), download-and-run
(`curl ... | sh`, `wget -O- ... | bash`, `IEX (New-Object Net.WebClient).DownloadString`),
encoded PowerShell (`-enc <base64>`, decoded from UTF-16LE and scanned again), dynamic
evaluation (`eval(base64_decode(...))`, `exec(compile(...))`, `__import__('os')`), SQL
stacked queries, `DROP`, `xp_cmdshell` and classic injection tails, and deserialization
gadgets (Java `rO0AB`, YAML `!!python/object`, pickle opcodes, `${jndi:`, .NET
`ObjectDataProvider`). Base64 runs of 24+ characters that decode to text are scanned again
once; a hit there is reported on the encoded span as `encoded_<type>`.

Each finding's rule belongs to a `family` (shell, python, powershell, javascript, php, sql,
java, dotnet, yaml) so a step can keep only the languages it cares about.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

from tappass.detect.threats.rules import RuleSet, apply, rule, strongest_per_span, text_words
from tappass.pipeline.step import Finding

_B64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_DIGIT_OR_PLUS = re.compile(rb"[0-9+]")
_DIGIT_OR_PLUS_TEXT = re.compile(r"[0-9+]")
_PS_WORDS = frozenset((b"powershell", b"pwsh"))
_PS_ENCODED = re.compile(
    r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]{0,120}?\s[-/](?:e|ec|en|enc|enco|encod|encode|"
    r"encoded|encodedc\w*)\s+([A-Za-z0-9+/]{16,}={0,2})", re.I)


@cache
def _rules() -> RuleSet:
    return RuleSet((
        # reverse shells
        rule("reverse_shell", r"/dev/(?:tcp|udp)/[\w.-]+/\d+", 0.95,
             "a shell connected back over /dev/tcp", ("/dev/tcp", "/dev/udp"), words=("dev",),
             family="shell"),
        rule("reverse_shell", r"\b(?:nc|ncat|netcat)\b[^\n;|]{0,80}\s-[a-z]*[ec]\s*\S*"
             r"(?:/bin/)?(?:ba|z|da)?sh\b|\b(?:nc|ncat|netcat)\b[^\n;|]{0,80}\s-[a-z]*e\s",
             0.95, "netcat running a shell for a remote peer", (" -",),
             words=("nc", "ncat", "netcat"), family="shell"),
        rule("reverse_shell", r"\bmkfifo\b[^\n]{0,120}\b(?:nc|ncat|netcat|openssl)\b", 0.95,
             "a named pipe wired to a network connection", words=("mkfifo",), family="shell"),
        rule("reverse_shell", r"\bsocat\b[^\n]{0,120}\bexec:", 0.95,
             "socat running a program for a remote peer", words=("socat",), family="shell"),
        rule("reverse_shell", r"\bsocket\.socket\([^\n]{0,300}\.connect\(\([^\n]{0,400}"
             r"(?:dup2|subprocess|pty\.spawn|/bin/(?:ba)?sh)", 0.95,
             "a Python socket wired to a shell", ("socket.socket",), words=("socket",),
             family="python"),
        rule("reverse_shell", r"\bperl\b[^\n]{0,20}-e[^\n]{0,200}\bsocket\b[^\n]{0,300}"
             r"\bexec\b|\bfsockopen\s*\([^\n]{0,200}(?:exec|system|shell_exec|proc_open)\b",
             0.95, "a Perl or PHP socket wired to a shell", words=("perl", "fsockopen"),
             family="php"),
        rule("reverse_shell", r"Net\.Sockets\.TCPClient\s*\(", 0.9,
             "a PowerShell TCP client (reverse-shell pattern)", words=("tcpclient",),
             family="powershell"),
        rule("reverse_shell", r"\bbash\s+-i\s*>&", 0.9, "an interactive shell redirected",
             (">&",), words=("bash",), family="shell"),
        # download and run
        rule("download_execute", r"\b(?:curl|wget|fetch)\b[^\n|;]{0,300}\|\s*(?:sudo\s+)?"
             r"(?:(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby|node|php)\b", 0.85,
             "content fetched from the network and piped into an interpreter", ("|",),
             words=("curl", "wget", "fetch"), family="shell"),
        rule("download_execute", r"\b(?:ba|z)?sh\s+(?:-c\s+['\"]?\$\(|<\(\s*)(?:curl|wget)\b",
             0.85, "a shell running what it downloads", ("$(", "<("),
             words=("curl", "wget"), family="shell"),
        rule("download_execute", r"\b(?:iex|invoke-expression)\b[\s(]{0,4}[^\n]{0,40}"
             r"(?:new-object\s+(?:system\.)?net\.webclient|iwr|invoke-webrequest|irm|"
             r"invoke-restmethod|downloadstring)", 0.95,
             "PowerShell running what it downloads", words=("iex", "invoke-expression"),
             family="powershell"),
        rule("download_execute", r"\.DownloadString\s*\(|\.DownloadFile\s*\([^\n]{0,200}"
             r"Start-Process", 0.8, "PowerShell downloading a script",
             words=("downloadstring", "downloadfile"), family="powershell"),
        rule("download_execute", r"\bcertutil\b[^\n]{0,40}-urlcache\b|\bmshta\s+https?:|"
             r"\bregsvr32\b[^\n]{0,60}/i:https?:", 0.9,
             "a Windows binary abused to fetch and run code",
             words=("certutil", "mshta", "regsvr32"), family="powershell"),
        # dynamic evaluation
        rule("dynamic_eval", r"\b(?:eval|assert)\s*\(\s*(?:base64_decode|gzinflate|gzuncompress|"
             r"str_rot13|atob|unescape|decodeURIComponent|String\.fromCharCode|\$_(?:GET|POST|"
             r"REQUEST|COOKIE))", 0.9, "evaluates decoded or request-supplied code",
             ("(",), words=("eval", "assert"), family="php"),
        rule("dynamic_eval", r"\b(?:exec|eval)\s*\(\s*(?:compile\s*\(|__import__|"
             r"base64\.b64decode|codecs\.decode|zlib\.decompress|bytes\.fromhex|marshal\.loads|"
             r"requests\.get|urllib)", 0.9, "evaluates decoded or downloaded Python code",
             ("(",), words=("exec", "eval"), family="python"),
        rule("dynamic_eval", r"__import__\s*\(\s*['\"](?:os|subprocess|pty|socket|"
             r"ctypes)['\"]\s*\)\s*\.\s*\w+", 0.85,
             "imports a system module inline to run a command", words=("__import__",),
             family="python"),
        rule("dynamic_eval", r"\b(?:system|passthru|shell_exec|popen|proc_open)\s*\(\s*"
             r"\$_(?:GET|POST|REQUEST|COOKIE)", 0.95, "runs a command taken from the request",
             words=("$_get", "$_post", "$_request", "$_cookie"), family="php"),
        rule("dynamic_eval", r"\bos\.(?:system|popen)\s*\(|\bsubprocess\.\w+\([^)]{0,200}"
             r"shell\s*=\s*True|\bRuntime\.getRuntime\(\)\.exec\s*\(|"
             r"\bchild_process['\"]?\)?\s*\.\s*exec(?:Sync)?\s*\(", 0.6,
             "runs a shell command from code",
             words=("os", "subprocess", "getruntime", "child_process"), family="python"),
        rule("dynamic_eval", r"\b(?:eval|exec)\s*\(", 0.4, "evaluates code dynamically",
             ("(",), words=("eval", "exec"), family="python"),
        # SQL
        rule("sql_stacked_query", r"'\s*\)?\s*;\s*(?:drop|delete|truncate|alter|insert|update|"
             r"exec|execute|shutdown|create|grant|declare)\b", 0.9,
             "a quote closed and a second SQL statement appended", (";",),
             words=("drop", "delete", "truncate", "alter", "insert", "update", "exec",
                    "execute", "shutdown", "create", "grant", "declare"), family="sql"),
        rule("sql_stacked_query", r";\s*(?:drop\s+(?:table|database|schema|user)|truncate\s+"
             r"table|shutdown\b|waitfor\s+delay)", 0.8, "a destructive SQL statement chained on",
             (";",), words=("drop", "truncate", "shutdown", "waitfor"), family="sql"),
        rule("sql_command_execution", r"\bxp_cmdshell\b|\bsp_oacreate\b|\binto\s+(?:outfile|"
             r"dumpfile)\b|\bload_file\s*\(", 0.95,
             "SQL that runs commands or touches the file system",
             words=("xp_cmdshell", "sp_oacreate", "outfile", "dumpfile", "load_file"),
             family="sql"),
        rule("sql_command_execution", r"\bcopy\b[^\n;]{0,80}\bfrom\s+program\b", 0.95,
             "SQL that runs a program", ("from program",), words=("program",), family="sql"),
        rule("sql_injection", r"'\s*(?:or|and)\s+'?\d+'?\s*=\s*'?\d+'?\s*(?:--|#|/\*)", 0.8,
             "a classic SQL injection tail", ("=",), words=("or", "and"), family="sql"),
        rule("sql_injection", r"\bunion\s+(?:all\s+)?select\b[^\n]{0,200}(?:--|#|/\*)", 0.8,
             "a UNION SELECT injection", words=("union",), family="sql"),
        rule("sql_destructive", r"\bdrop\s+(?:table|database|schema)\b", 0.45,
             "drops a table or database", words=("drop",), family="sql"),
        # deserialization
        rule("deserialization_gadget", r"\$\{\s*jndi\s*:", 0.95,
             "a JNDI lookup (Log4Shell)", words=("jndi",), family="java"),
        rule("deserialization_gadget", r"\brO0AB[A-Za-z0-9+/=]{10,}|\baced0005[0-9a-f]{8,}",
             0.8, "a serialized Java object", ("ro0ab", "aced0005"), family="java", flags=0),
        rule("deserialization_gadget", r"!!python/(?:object(?:/apply|/new)?|name|module)\s*:",
             0.9, "a YAML tag that builds Python objects", ("!!python/",), words=("python",),
             family="yaml"),
        rule("deserialization_gadget", r"\bc(?:os|posix|nt|subprocess|__builtin__|builtins)\n"
             r"(?:system|popen|eval|exec|check_output|Popen)\b", 0.9,
             "a pickle that calls a system function", ("\n",),
             words=("cos", "cposix", "cnt", "csubprocess", "c__builtin__", "cbuiltins"),
             family="python", flags=0),
        rule("deserialization_gadget", r"\bObjectDataProvider\b|\bTypeConfuseDelegate\b|"
             r"\"\$type\"\s*:\s*\"[^\"]*(?:Process|ObjectDataProvider|WindowsIdentity|"
             r"FileSystemUtils)", 0.85, "a .NET deserialization gadget",
             words=("objectdataprovider", "typeconfusedelegate", "$type"), family="dotnet"),
        rule("deserialization_gadget", r"\bO:\d+:\"[A-Za-z_\\]+\":\d+:\{", 0.6,
             "a serialized PHP object", (':{',), words=("o",), family="php"),
    ))


def _decoded(run: str) -> str | None:
    """The text a base64 run stands for, or None if it is not printable text."""
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    for encoding in ("utf-8", "utf-16-le"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text and sum(c.isprintable() or c in "\n\r\t" for c in text) >= 0.9 * len(text):
            return text
    return None


def _scan(text: str) -> list[Finding]:
    return apply(_rules(), text)


def _encoded(text: str) -> list[Finding]:
    out: list[Finding] = []
    words = text_words(text.lower())
    if not _PS_WORDS.isdisjoint(words):
        out.extend(_powershell(text))
    # a base64 run of 24+ characters leaves a word of 12+ between its `/` signs, and
    # almost always a digit or a `+` in it: long prose words rarely have one
    if _DIGIT_OR_PLUS_TEXT.search(text) and any(
            len(word) >= 12 and _DIGIT_OR_PLUS.search(word) for word in words):
        out.extend(_base64_runs(text))
    return out


def _powershell(text: str) -> list[Finding]:
    out: list[Finding] = []
    for match in _PS_ENCODED.finditer(text):
        inner = _decoded(match.group(1))
        hits = _scan(inner) if inner else []
        score = max([0.95, *(f.score for f in hits)]) if hits else 0.9
        out.append(Finding("encoded_powershell", match.start(), match.end(), score,
                           "PowerShell running a base64-encoded command"
                           + (" that decodes to " + hits[0].type if hits else "")))
    return out


def _base64_runs(text: str) -> list[Finding]:
    out: list[Finding] = []
    for match in _B64_RUN.finditer(text):
        inner = _decoded(match.group(0))
        if not inner:
            continue
        hits = [f for f in _scan(inner) if f.score >= 0.6]
        if hits:
            best = max(hits, key=lambda f: f.score)
            out.append(Finding(f"encoded_{best.type}", match.start(), match.end(), best.score,
                               f"base64 text that decodes to {best.type}: {best.explanation}"))
    return out


def detect_code_execution(text: str) -> list[Finding]:
    """Code meant to be executed in `text` (spans in `text`)."""
    return strongest_per_span(_scan(text) + _encoded(text))


def family_of(finding: Finding) -> set[str]:
    """The language families a finding comes from (an encoded finding: its decoded rule's)."""
    if finding.type == "encoded_powershell":
        return {"powershell"}
    return {r.family for r in _rules() if r.why in finding.explanation}
