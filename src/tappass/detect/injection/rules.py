"""Hand-written injection rules: what an attack *does*, not the words one data set used.

Each rule names a technique (instruction override, prompt leak, jailbreak persona, role
hijack, fake conversation turns, directives hidden in data, ...) and carries a score: the
confidence that a text matching it alone is an attack. Rules that also fire on ordinary
text ("ignore a failing test", "submit the form", "unrestricted exploration") are
deliberately absent or weak; the linear model weighs the weak signals together.

Explanations are fixed strings: a finding never carries the matched text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# object of an override: what an attacker wants the model to drop
_WHAT = (r"(?:instructions?|prompts?|rules?|directives?|guidelines?|commands?|context|tasks?|"
         r"assignments?|messages?|information|orders?|constraints?|restrictions?|programming|"
         r"training|policies|policy|conversation|input|text|everything|all)")
_BEFORE = (r"(?:previous|prior|above|earlier|preceding|former|original|initial|old|system|"
           r"existing|foregoing|given|default|current|developer|safety)")
_DROP = (r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|override|overriding|"
         r"bypass|neglect|abandon|discard|set aside|pay no attention to|do not follow|"
         r"don'?t follow|stop following|no longer follow|throw away|delete|erase|clear)")
_FILL = r"(?:\s+(?:all|any|the|your|my|every|these|those|of|each|other|its|that|this))*"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str          # technique, used as the finding type
    score: float       # confidence when this rule alone matches
    explanation: str
    pattern: re.Pattern[str]
    gate: tuple[str, ...] = ()   # lower-case substrings, one of which every match contains
    spaced_gate: tuple[str, ...] = ()   # the gate words of several words

    def search(self, text: str, lowered: str, folded: str | None = None) -> re.Match[str] | None:
        """A match, if any; `lowered` is `text.lower()`, `folded` the same with every
        whitespace run written as one space (None: `lowered` has no other whitespace).

        Every match contains a gate word, so the expression runs only on windows around
        the gate words' occurrences (found by substring search, far cheaper than a regular
        expression scanning every position): the cost follows the hits, not the length.
        A gate of several words found more often once whitespace runs are folded
        ("from  now  on") has occurrences no window covers: then the whole text is
        searched."""
        if not self.gate:
            return self.pattern.search(text)
        if folded is not None and any(folded.count(word) > lowered.count(word)
                                      for word in self.spaced_gate):
            return self.pattern.search(text)
        windows = _windows(lowered, self.gate) if len(lowered) == len(text) else None
        if windows is None:   # short text, too many hits, or lower() changed the length
            if not any(word in lowered for word in self.gate):
                return None
            return self.pattern.search(text)
        for start, end in windows:
            match = self.pattern.search(text, start, end)
            if match is not None:
                return match
        return None


_IRREGULAR = re.compile(r"\s\s|[^\S ]")   # whitespace other than single spaces

WINDOW_BACK = 200     # a match may start this far before its gate word ...
WINDOW_AHEAD = 450    # ... and end this far after it
MAX_WINDOWS = 32


def _windows(lowered: str, gate: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """Merged (start, end) windows around each gate word; None: search the whole text."""
    size = len(lowered)
    if size <= 2 * (WINDOW_BACK + WINDOW_AHEAD):
        return None
    spans: list[tuple[int, int]] = []
    for word in gate:
        at = lowered.find(word)
        while at != -1:
            spans.append((max(0, at - WINDOW_BACK), min(size, at + len(word) + WINDOW_AHEAD)))
            if len(spans) > MAX_WINDOWS:
                return None
            at = lowered.find(word, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _folded(*words: str) -> str:
    """An alternation of `words` as the shared normalisation writes them: Cyrillic letters
    that look Latin are folded to Latin there, so a Russian rule must be folded too."""
    from tappass.detect.normalize import normalize
    return "|".join(re.escape(normalize(word).text) for word in words)


def _rule(name: str, score: float, explanation: str, pattern: str, flags: int = 0,
          gate: str = "", case: bool = False) -> Rule:
    flags |= 0 if case else re.IGNORECASE
    words = tuple(word for word in gate.split(",") if word)
    if any(word != word.lstrip() for word in words):   # ", you are" split on its comma
        raise ValueError(f"rule {name}: a gate word may not start with a space")
    return Rule(name, score, explanation, re.compile(spaced(pattern), flags), words,
                tuple(word for word in words if " " in word))


def spaced(pattern: str) -> str:
    """`pattern` with each literal space outside a character class (also re.escape's
    "\\ ") matching any run of whitespace: "pay  no\tattention" must not slip past
    "pay no attention"."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
            if char == " " and not in_class:   # re.escape writes a space as "\ "
                out[-1] = r"\s+"
                continue
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == " ":
            out.append(r"\s+")
            continue
        out.append(char)
    return "".join(out)


_APART = "tells the model to answer apart from the documents it was given"


def _apart_from_documents(lead: str, gate: str) -> Rule:
    """`context_override` for one kind of lead phrase ("disregarding", "instead of", ...)
    followed by the documents the model was given."""
    return _rule("context_override", 0.8, _APART,
                 rf"\b(?:{lead})\s+(?:the|these|those|any|all)?\s*(?:provided\s+|given\s+|"
                 r"above\s+|supplied\s+|attached\s+)?(?:articles?|documents?|sources?|context|"
                 r"search\s+results|passages?)\b(?!\s*(?:window|length|size|menu|switch))",
                 gate=gate)


_OBJECT_FIRST = "asks the model to drop its previous instructions (more languages, object first)"


def build_rules() -> tuple[Rule, ...]:
    """All rules, compiled (called once by the cached detector loader)."""
    return (
        _rule("instruction_override", 0.97,
              "asks the model to drop its previous instructions",
              rf"\b{_DROP}{_FILL}\s+(?:{_BEFORE}\s+)?(?:\w+\s+)?{_WHAT}\s+"
              rf"(?:above|before|so far|you (?:were|have been) given|given to you|"
              rf"(?:that )?(?:came|come) before)\b"
              rf"|\b{_DROP}{_FILL}\s+{_BEFORE}\s+(?:\w+\s+)?{_WHAT}\b"
              rf"|\b{_DROP}\s+(?:all|everything)(?:\s+(?:that|which|i|you|we))?\s+"
              rf"(?:above|before|previously|so far|(?:was |were |have been )?(?:said|told|"
              rf"written|given|mentioned))\b"
              rf"|\b{_DROP}\s+(?:all|any)\s+(?:of\s+)?(?:your|the|my)\s+{_WHAT}\b",
              gate=("ignor,disregard,forget,skip ,overrid,bypass,neglect,abandon,discard,"
                    "set aside,pay no attention,t follow,stop follow,longer follow,throw away,"
                    "delete all,delete your,delete any,delete the previous,erase,clear all,"
                    "clear your,clear any,clear the previous,skip all,skip your,skip any,"
                    "skip the previous")),
        _rule("instruction_override", 0.95,
              "asks the model to drop its previous instructions (German, French, Spanish)",
              r"\b(?:ignorier\w*|vergiss|vergessen sie|vergesst|missachte\w*)\b.{0,40}?"
              r"\b(?:alles|alle\w*|vorherig\w*|bisherig\w*|obig\w*|vorig\w*|anweisung\w*|"
              r"befehl\w*|aufgabe\w*|informationen)\b"
              r"|\babweichend\s+(?:zu|von)\s+(?:den\s+)?(?:vorherigen|bisherigen|obigen)\b"
              r"|\b(?:zaboravi|zapomnij|zabudi)\b"
              r"|\b(?:ignore[zr]|oublie[zr]?)\b.{0,30}\b(?:instructions?|consignes?|"
              r"pr[ée]c[ée]dent\w*)\b"
              r"|\b(?:ignora|olvida)\w*\b.{0,30}\b(?:instrucciones|anteriores|todo)\b",
              gate=("ignor,vergiss,vergessen,vergesst,missacht,abweichend,zaboravi,zapomnij,"
                    "zabudi,oubli,olvid")),
        # one technique, three rules: each alternation runs only where its own words occur
        # (English prose full of "previous" and "prior" never pays for the other languages)
        _rule("instruction_override", 0.9, _OBJECT_FIRST,
              r"\b(?:obigen|vorherigen|bisherigen|vorigen|vorangegangenen|"
              r"vorstehenden)\s+(?:\w+\s+){0,2}?(?:ausführungen|anweisungen|informationen|"
              r"befehle|aufgaben|texte?|anordnungen|vorgaben)\b.{0,60}?\b(?:ignorieren|"
              r"vergessen|ignoriert|vergiss|irrelevant|ungültig|hinfällig|gelten\s+nicht|"
              r"zählen\s+nicht)\b",
              re.DOTALL,
              gate="obigen,vorherigen,bisherigen,vorigen,vorangegangenen,vorstehenden"),
        _rule("instruction_override", 0.9, _OBJECT_FIRST,
              r"\bolvid\w*\b.{0,30}\b(?:todo|instrucciones|anteriores|antes|lo\s+anterior)\b"
              r"|\b(?:ignora|ignorate|ignori)\s+(?:tutt[ei]\s+)?(?:le\s+)?(?:istruzioni|"
              r"indicazioni)\b"
              r"|\bignore\s+(?:todas\s+)?(?:as\s+)?(?:instruções|instrucoes)\b"
              r"|\b(?:dimentica|dimenticate|esqueça|esqueca|esquece)\b.{0,30}\b(?:tutto|"
              r"istruzioni|precedenti|tudo|instruções|anteriores)\b"
              r"|\b(?:negeer|vergeet)\b.{0,30}\b(?:alle|alles|vorige|eerdere|instructies)\b"
              rf"|(?:{_folded('забудь', 'забудьте', 'игнорируй', 'игнорируйте', 'проигнорируй')})"
              rf"\s+(?:{_folded('все', 'всё', 'инструкции', 'указания', 'предыдущие', 'правила')})",
              re.DOTALL,
              gate=("olvid,ignora,ignori,ignore,dimentic,esque,negeer,vergeet,"
                    + ",".join(_folded("забуд", "игнорир").split("|")))),
        _rule("instruction_override", 0.9, _OBJECT_FIRST,
              r"\b(?:previous|prior|above|earlier|preceding)\s+"
              r"(?:information|instructions?|context|text|rules)\s+(?:you(?:'ve| have)?\s+"
              r"(?:received|been\s+given)\s+)?(?:is|are)\s+(?:now\s+)?(?:irrelevant|void|"
              r"obsolete|null|no\s+longer\s+(?:valid|relevant|apply))\b"
              r"(?!\s+(?:to|for|in|here|when|if)\b)",
              gate="previous,prior,above,earlier,preceding"),
        _rule("task_switch", 0.75,
              "closes the user's task and slips in another one",
              r"\b(?:that|this)\s+is\s+(?:done|finished|completed)\s*[.!]\s*(?:now\s+)?(?:write|"
              r"say|tell|give|answer|respond|generate|forget|ignore|print|create|output|compose)\b"
              r"|\bdas\s+ist\s+erledigt\s*[.!]\s*(?:(?:jetzt|nun)\s+)?(?:schreib|sag|verfass|gib|"
              r"antworte|vergiss|ignorier|erstell)\w*"
              r"|\bnow\s+(?:come\s+on,?\s+)?i\s+need\s+your\s+help\s+with\s+(?:another|"
              r"a\s+new|one\s+more)\s+task\b"
              r"|\baber\s+jetzt\s+komm,?\s+ich\s+brauche\s+deine\s+hilfe\s+bei\s+einer\s+"
              r"(?:weiteren|neuen)\s+aufgabe\b"
              r"|\bnow\s+further\s+tasks\s+(?:are\s+)?follow",
              gate="is done,is finished,is completed,erledigt,help with,hilfe bei,further tasks"),
        _rule("forced_statement", 0.7,
              "makes the model declare a stance it was not asked to weigh",
              r"\b(?:say|state|claim|declare|write|admit)\s+that\s+you\s+(?:hate|despise)\s+\w"
              r"|\b(?:include|add|mention)\s+(?:in\s+your\s+answer\s+)?that\s+you\s+"
              r"(?:hate|despise)\b"
              r"|\bdo\s+you\s+(?:hate|love)\s+\w+\?\s*say\s+yes\b",
              gate="hate,despise,say yes"),
        # one technique, gated per phrase: prose says "instead of" and "not on" all the time
        *(_apart_from_documents(lead, gate) for lead, gate in (
            (r"disregard(?:ing)?|ignor(?:e|ing)", "disregard,ignor"),
            (r"without\s+(?:using|considering|looking\s+at|regard\s+to|reference\s+to)",
             "without using,without consider,without looking,without regard,without reference"),
            (r"not\s+(?:based\s+)?(?:on|by|from)", "not on,not by,not from,not based"),
            (r"regardless\s+of|instead\s+of|apart\s+from|(?:leaving|leave|setting|putting|put)"
             r"\s+aside", "regardless,instead of,apart from,aside"))),
        _rule("context_override", 0.8, _APART,
              r"\b(?:use|using)\s+(?:also\s+)?(?:the\s+)?information\s+in\s+the\s+prompt\b"
              r"|\b(?:answer|respond|reply)\w*\s+(?:\w+\s+){0,2}(?:by|from|with|using)\s+your\s+own\s+"
              r"knowledge\b"
              r"|\b(?:ohne|unabh[äa]ngig\s+von)\s+(?:die|den|das|dem)\s+(?:artikel|kontext|"
              r"dokument\w*|quellen)\b",
              gate="information in the,own knowledge,ohne,unabh"),
        _rule("attention_interrupt", 0.75,
              "interrupts the task with an alarm to slip in another request",
              r"\b(?:attention|achtung|stop|stopp|halt)\s*[-\u2013\u2014!:]+\s*(?:stop|stopp|"
              r"attention|achtung|halt)\b",
              gate="attention,achtung,stop,halt"),
        _rule("fiction_frame", 0.8,
              "wraps a request in a story whose actors must never leave their roles",
              r"\bstay(?:s|ing)?\s+(?:fully\s+|always\s+|completely\s+)?in\s+(?:their|his|her)\s+"
              r"roles?\b"
              r"|\b(?:falling|fall|step|stepping|breaking|break)\s+out\s+of\s+(?:the\s+|their\s+|"
              r"your\s+|his\s+|her\s+)?(?:roles?|figures?|characters?)\b"
              r"|\b(?:bleiben|bleibt|bleibst)\s+(?:\w+\s+){0,2}in\s+(?:ihren|ihrer|deiner|seiner)\s+"
              r"rollen?\b"
              r"|\bimmerse\s+yourself\s+(?:\w+\s+){0,3}(?:role|character|persona)s?\b"
              r"|\bin\s+deiner\s+rolle\s+auf\b",
              gate=("in their role,in his role,in her role,falling out of,fall out of,"
                    "step out of,stepping out of,breaking out of,break out of,immerse,rolle")),
        _rule("forced_statement", 0.7,
              "makes the model declare that something is the best or the worst",
              r"\b(?:state|say|write|claim|declare|admit|confirm|tell\s+(?:me|everyone|us))\s+"
              r"that\s+(?:\w+\s+){1,3}(?:is|are|was|were)\s+(?:the\s+)?(?:best|worst|greatest|"
              r"most\s+\w+|superior|better|evil|stupid)\b"
              r"|\b(?:sag|schreib|behaupte)\w*\s*,?\s+dass\s+(?:\w+\s+){1,4}(?:ist|sind|war|"
              r"waren)\b",
              gate=("state that,say that,write that,claim that,declare that,admit that,"
                    "confirm that,tell me that,tell everyone that,tell us that,dass")),
        _rule("jailbreak_persona", 0.85,
              "asks the model to play an evil or unrestricted AI",
              r"\b(?:pretend|imagine|act\s+as\s+if)\s+(?:that\s+)?you\s+(?:are|were)\s+"
              r"(?:an?\s+)?(?:evil|unfiltered|malicious|rogue|uncensored|unrestricted|amoral)\b"
              r"|\bstell\s+dir\s+vor,?\s+du\s+(?:bist|w[äa]rst)\s+(?:eine?\s+)?(?:b[öo]se|"
              r"unzensiert|b[öo]sartig)"
              r"|\b(?:no|without|lacks?|lacking)\s+(?:any\s+)?(?:comprehension|understanding|"
              r"concept|sense|notion)\s+of\s+(?:morals?|morality|ethics)\b"
              r"|\b(?:amoral|unethical|immoral)\s+(?:ai|chatbot|assistant|character|entity|being|"
              r"bot|persona)\b",
              gate=("pretend,imagine,act as if,stell dir,comprehension of,understanding of,"
                    "concept of,sense of,notion of,amoral,unethical,immoral")),
        _rule("role_hijack", 0.7,
              "asks the model to pretend it can do what it cannot (browse, see the future)",
              r"\b(?:pretend|imagine)\s+(?:that\s+)?you\s+(?:can|could|are\s+able\s+to|have)\s+"
              r"(?:access|browse|see|predict|know)\b",
              gate="pretend,imagine"),
        _rule("instruction_override", 0.85,
              "tells the model to disregard everything it was given",
              r"\b(?:ignore|forget|disregard)\s+(?:about\s+)?(?:everything|all of (?:the|that)|"
              r"the above|above|what you(?:'ve| have)? been told|what (?:i|we) said)\b"
              r"|\bdespite what you(?:'ve| have) been told\b"
              r"|\b(?:do not|don'?t)\s+answer\s+(?:this|the)\s+question\s*,?\s*(?:but|just|"
              r"instead)\b",
              gate="ignore,forget,disregard,despite,answer"),
        _rule("new_instructions", 0.85,
              "announces new instructions that replace the task",
              r"\b(?:your|the|my)\s+(?:new|real|actual|true|next|only)\s+"
              r"(?:task|instructions?|goal|mission|objective|job)\s+(?:is|are|will be)\b"
              r"|\bnow\s+(?:comes?|follows?|here (?:is|are))\s+(?:a\s+|your\s+)?"
              r"(?:new|another|different)\s+(?:tasks?|instructions?)"
              r"|\bnew\s+(?:tasks?|instructions?)\s+follow"
              r"|\b(?:neue|nächste)\s+(?:aufgabe|anweisung)\w*\b"
              r"|\b(?:updated|new|revised|real)\s+(?:system\s+)?(?:instructions|prompt)\s*:",
              gate=("new task,new instruction,new goal,new mission,new objective,new job,"
                    "real task,real instruction,actual task,actual instruction,true task,"
                    "true instruction,next task,next instruction,only task,only instruction,"
                    "real goal,true goal,only goal,new tasks,another task,different task,"
                    "tasks follow,instructions follow,neue,nächste,updated system,"
                    "updated instruction,updated prompt,new system,new prompt,revised,"
                    "real prompt")),
        _rule("prompt_leak", 0.9,
              "asks the model to reveal its system prompt or instructions",
              r"\b(?:print|reveal|show|repeat|output|display|disclose|leak|dump|return|echo|"
              r"spell out|recite|write out|tell me|give me|share|list)\s+"
              r"(?:me\s+|us\s+|out\s+)?(?:all\s+)?(?:of\s+)?(?:your|the|its|this)\s+"
              r"(?:(?:full|entire|complete|exact|original|initial|hidden|secret|internal|"
              r"first|whole)\s+)*(?:system\s+(?:prompt|message|instructions)|"
              r"(?:initial|original|hidden|secret|internal|pre-?)\s*(?:prompt|instructions)|"
              r"prompt\s+(?:text|above)|instructions\s+(?:above|you were given)|"
              r"(?:prompt|instructions)\b(?=\s*(?:verbatim|word for word|above|$|[.!]))|"
              r"prompts?\s+texts?)"
              r"|\b(?:what|which)\s+(?:is|are|was|were)\s+(?:your|the)\s+(?:system\s+prompt|"
              r"(?:initial|original|hidden|secret)\s+(?:prompt|instructions))"
              r"|\brepeat\s+(?:the\s+)?(?:words|text|everything)\s+above\b"
              r"|\b(?:zeige?|gib)\b.{0,20}\b(?:prompt|anweisungen)\b",
              gate="prompt,instruction,repeat,anweisung"),
        _rule("jailbreak_persona", 0.95,
              "known jailbreak persona or mode (DAN, developer mode, jailbroken)",
              r"\bdo anything now\b|\b(?:developer|god|jailbreak|dan|dude|evil|unrestricted|"
              r"unfiltered|debug|sudo)\s+mode\b|\bjailbroken\b|\bjailbreak\s*[:\[]|"
              r"\bjailbreak(?:ed)?\s+(?:version|mode|"
              r"prompt|persona|response)\b|"
              r"\bstay in character\b|\bbreak(?:ing)? character\b|\bAIM\b.{0,60}"
              r"\bmachiavellian\b|\bantiGPT\b|\bBetterDAN\b|\[🔓|🔓\s*JAILBREAK",
              gate="anything now,mode,jailbr,character,machiavellian,antigpt,betterdan,🔓"),
        _rule("jailbreak_persona", 0.95,
              "the DAN persona",
              r"\bDAN\b(?=.{0,200}\b(?i:anything|rules|restrictions|openai|chatgpt|filter|"
              r"policy|policies|character)\b)", re.DOTALL, case=True,
              gate="dan"),
        _rule("jailbreak_no_limits", 0.9,
              "tells the model it has no rules, filters or ethics",
              r"\b(?:no|without|free (?:of|from)|freed from|not bound by|unbound by|beyond|"
              r"ignores?|abandons?|bypass(?:es)?|devoid of|zero)\s+(?:any\s+)?(?:\w+\s+)?"
              r"(?:ethical|moral|content|safety|openai|programming|censorship)\s*"
              r"(?:and\s+\w+\s+)?(?:restrictions|limitations|filters?|guidelines|rules|"
              r"principles|policies|policy|boundaries|constraints|standards|considerations|"
              r"protocols)\b"
              r"|\b(?:never|not|won'?t|cannot|can'?t)\s+(?:ever\s+)?(?:refuse|decline|reject)\s+"
              r"(?:a|any|to answer|an?y? (?:request|question|order|prompt))"
              r"|\beven if it(?:'s| is)\s+(?:illegal|unethical|immoral|harmful|dangerous|"
              r"offensive|inappropriate)"
              r"|\b(?:doesn'?t|does not|don'?t|do not|never)\s+(?:have to\s+|need to\s+)?"
              r"(?:follow|abide by|adhere to|care about|comply with)\s+(?:any\s+)?"
              r"(?:openai|ethical|moral|content|safety)?\s*(?:rules|guidelines|policies|"
              r"polic(?:y|ies)|ethics|morals|restrictions|laws)"
              r"|\bregardless of\s+(?:how\s+)?(?:legality|ethics|morality|(?:it(?:'s| is)\s+)?"
              r"(?:illegal|immoral|unethical|harmful))",
              gate=("restriction,limitation,filter,guideline,rule,principle,polic,boundar,"
                    "constraint,standard,consideration,protocol,refuse,decline,reject,"
                    "illegal,unethical,immoral,harmful,dangerous,offensive,inappropriate,"
                    "ethic,moral,law,legality")),
        _rule("role_hijack", 0.8,
              "redefines who the model is from now on",
              r"\bfrom now on,?\s+(?:you|your|act|respond|answer|behave|pretend|only)\b",
              gate="from now on"),
        _rule("role_hijack", 0.8,
              "redefines who the model is from now on",
              r"\byou\s+are\s+no\s+longer\s+(?:an?\s+)?(?:ai|chatgpt|assistant|language model|"
              r"bound|restricted|limited|claude|gpt)",
              gate="no longer"),
        _rule("role_hijack", 0.8,
              "redefines who the model is from now on",
              r"\b(?:ab (?:jetzt|sofort)|von nun an)\b.{0,30}\b(?:du|sie|bist)\b",
              gate="ab jetzt,ab sofort,von nun an"),
        _rule("role_hijack", 0.6,
              "opens a sentence by giving the model a new identity",
              r"(?:^|[.!?:]\s+|\n\s*)(?:you\s+are\s+now|now\s+you\s+are|(?:nun|jetzt)\s+bist\s+du)\s+"
              r"(?:a|an|the|my|your|ein|eine|der|die|das|(?-i:[A-Z][a-z]+)\b)",
              re.MULTILINE, gate="you are now,now you are,bist du"),
        _rule("fabrication", 0.75,
              "tells the model to invent answers it does not know",
              r"(?<!not\s)(?<!n't\s)(?<!never\s)\bmake\s+up\s+(?:an?\s+|the\s+|any\s+|some\s+)?"
              r"(?:answers?|information|facts|data|responses?)\b"
              r"|(?<!not\s)(?<!n't\s)(?<!never\s)\bmake\s+(?:an?\s+|the\s+)?answers?\s+up\b"
              r"|\b(?:don'?t|do\s+not|doesn'?t|does\s+not)\s+know\b[^.?!]{0,60}?[,;]?\s*"
              r"(?<!not\s)(?<!n't\s)(?<!never\s)make\s+(?:something|it|one|stuff|things)\s+up\b",
              gate="make up,answers up,answer up,t know,not know"),
        _rule("role_hijack", 0.34,
              "assigns the model a new identity",
              r"\b(?:now,?\s+you\s+are|you\s+are\s+now|you\s+will\s+now\s+(?:act|be|play|"
              r"pretend)|(?:nun|jetzt)\s+bist\s+du|du\s+bist\s+(?:jetzt|nun|ab\s+jetzt))\b",
              gate="you are,you will now,bist du,du bist"),
        _rule("new_instructions", 0.8,
              "stops the task abruptly and gives a new command",
              r"\b(?:stop|halt|end)\s*[:!\-]+\s*(?:now\s+)?(?:write|say|print|output|answer|"
              r"respond|tell|repeat|type)\b",
              gate="stop:,stop!,stop -,stop-,stop :,halt,end:,end!,end -,end-"),
        _rule("forced_output", 0.34,
              "dictates the exact words the model must say",
              r"\b(?:just|only|simply)\s+(?:say|output|print|write|reply|respond|answer)\b"
              r"(?:\s+with)?\s*[:\"'“]"
              r"|\bsay\s+(?:that\s+you|yes\b|no\b)"
              r"|\b(?:your|the)\s+(?:only|first)\s+(?:answer|output|response|words?)\s+"
              r"(?:is|must be|should be|will be)\b",
              gate=("just ,only ,simply ,say that,say yes,say no,first answer,first output,"
                    "first response,first word")),
        _rule("role_hijack", 0.8,
              "claims to be the model's developer or operator",
              r"\bi\s+am\s+(?:your|the)\s+(?:developer|creator|programmer|admin(?:istrator)?|"
              r"owner|operator|system administrator)\b",
              gate="i am your,i am the"),
        _rule("fake_turn", 0.9,
              "contains chat-template tokens or a fake system turn",
              r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)"
              r"\|>|\[/?INST\]|<<\s*/?SYS\s*>>|</?\s*(?:system|sys_prompt|system_prompt)\s*>"
              r"|^\s*#{2,}\s*(?:system|new instructions?|instruction override)\b"
              r"|^\s*\[?(?:system|developer)\]?\s*(?:message|prompt|override|note)?\s*:\s*"
              r"(?:you|ignore|new|from|the assistant|override)",
              re.MULTILINE,
              gate="<|,inst],sys,system,developer,#"),
        _rule("context_end", 0.85,
              "pretends the document or conversation has ended",
              r"\b(?:end of|ignore the)\s+(?:the\s+)?(?:document|input|context|email|text|"
              r"data|file|conversation|prompt|user input)\b\s*[\]\-=*#>)]*\s*$.{0,400}?"
              r"\b(?:you|your|ignore|now|instead|new)\b"
              r"|^\s*[-=#*]{3,}\s*(?:end|begin)\s+(?:of\s+)?(?:system|instructions?|document|"
              r"context)\b",
              re.MULTILINE | re.DOTALL,
              gate="end of,ignore the,---,===,###,***"),
        _rule("ai_addressed", 0.85,
              "addresses an AI reading the text (hidden instructions in content)",
              r"\b(?:note|message|attention|instructions?|important|reminder)\s+(?:to|for)\s+"
              r"(?:the\s+|any\s+)?(?:ai|assistant|llm|language model|chatbot|agent|model|"
              r"bot)s?\b",
              gate=("note to,note for,message to,message for,attention to,attention for,"
                    "instruction to,instruction for,instructions to,instructions for,"
                    "important to,important for,reminder to,reminder for")),
        _rule("ai_addressed", 0.85,
              "addresses an AI reading the text (hidden instructions in content)",
              r"\bif you are an?\s+(?:ai|llm|language model|assistant|chatbot|agent|"
              r"automated)\b|\b(?:ai|assistant|llm|agent|model)s?\s+(?:reading|processing|"
              r"summari[sz]ing|parsing)\s+this\b",
              gate=("if you are,reading this,processing this,summarizing this,"
                    "summarising this,parsing this")),
        _rule("ai_addressed", 0.85,
              "addresses an AI reading the text (hidden instructions in content)",
              r"\bwhen (?:summari[sz]ing|processing|reading|analy[sz]ing) this\b.{0,60}\b"
              r"(?:you|must|should|instead)\b",
              gate="when summari,when processing,when reading,when analy"),
        _rule("ai_addressed", 0.85,
              "tells the model to hide what it does from the user",
              r"\bdo not (?:tell|inform|mention (?:this|it) to|reveal (?:this|it) to|alert)\s+"
              r"the user\b|\bwithout (?:telling|informing|alerting) the user\b",
              gate="the user"),
        _rule("exfiltration_request", 0.85,
              "asks the model to send conversation data somewhere",
              r"\b(?:send|forward|post|upload|email|transmit|leak|exfiltrate)\s+(?:\w+\s+){0,3}"
              r"(?:conversation|chat history|credentials|passwords?|api keys?|secrets?|tokens?|"
              r"system prompt|user(?:'s)? data|personal data)\s+(?:\w+\s+){0,3}"
              r"(?:to|at)\s+(?:https?://|www\.|\S+@|the following)"
              r"|!\[[^\]]*\]\(https?://[^)\s]*(?:\{|%7b|\$\(|<)",
              gate="send,forward,post,upload,email,transmit,leak,exfiltrate,!["),
        _rule("response_directive", 0.35,
              "tells the model how to write its answer or code (a directive in data)",
              r"\b(?:in|to|into|within|throughout|from|of|with)\s+your\s+(?:reply|response|"
              r"answer|output|summary|code(?:base)?|solution|implementation|algorithm|"
              r"program|script|elucidation|explanation)\b"
              r"|\byour\s+(?:reply|response|answer)\s+(?:must|should)\b",
              gate="your"),
    )


# A rule is a feature of the linear model only when it is specific on its own. Weak cues
# ("you are now", "just say:") are pure in the training data but common in ordinary text, and
# the model would learn them as certainties; they report their own low score instead.
CUE_MIN_SCORE = 0.6


def cue_names(found: list[tuple[Rule, re.Match[str]]]) -> set[str]:
    """The model features among the matched rules."""
    return {rule.name for rule, _ in found if rule.score >= CUE_MIN_SCORE}


class Gates:
    """Which gate words of a set of rules occur in a text, in one pass of the regex engine.

    The gate words are compiled into one trie-shaped alternation (longest word first at
    each branch), so each position of the text costs one step down the trie instead of one
    substring search per gate word per rule. After a match the search resumes one character
    later, so overlapping words are all found; the gates that are prefixes of a found word
    occur there too."""

    __slots__ = ("_pattern", "_prefixes")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        words = sorted({word for rule in rules for word in rule.gate})
        self._pattern = re.compile(_trie(words)) if words else None
        self._prefixes = {word: frozenset(w for w in words if word.startswith(w))
                          for word in words}

    def present(self, lowered: str) -> set[str]:
        """The gate words that occur in `lowered` (a lower-cased text)."""
        found: set[str] = set()
        if self._pattern is None:
            return found
        match = self._pattern.search(lowered)
        while match is not None:
            found |= self._prefixes[match.group()]
            match = self._pattern.search(lowered, match.start() + 1)
        return found


def _trie(words: list[str]) -> str:
    """An alternation matching exactly `words`, factored as a trie, longest match first."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())
                    if char]
        if "" in node:
            branches.append("")      # the word ends here: tried after every longer one
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return emit(root)


def matches(rules: tuple[Rule, ...], text: str,
            gates: Gates | None = None) -> list[tuple[Rule, re.Match[str]]]:
    """Each rule that matches `text`, with its first match. With `gates` (built once for
    `rules`), rules none of whose gate words occur are skipped without a search."""
    lowered = text.lower()
    # whitespace runs as single spaces (split/join runs in C, far cheaper than a regex)
    folded = " ".join(lowered.split()) if _IRREGULAR.search(lowered) else None
    present = gates.present(folded or lowered) if gates is not None else None
    found = []
    for rule in rules:
        if present is not None and rule.gate and present.isdisjoint(rule.gate):
            continue
        match = rule.search(text, lowered, folded)
        if match is not None:
            found.append((rule, match))
    return found
