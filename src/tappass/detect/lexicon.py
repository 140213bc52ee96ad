"""Word lists for the offline name and place detectors, loaded once on first use.

The lists are package data (`detect/data/*.txt.gz`, sources and licences in
`detect/data/ATTRIBUTION.md`); `COMMON` is a hand-written list of English words that are
often capitalised (sentence starts, headings) and must never count as a name or a place.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources


@cache
def _load(name: str) -> frozenset[str]:
    data = resources.files("tappass.detect").joinpath("data", name).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split("\n")) - {""}


@cache
def first_names() -> frozenset[str]:
    """Given names (title case), minus common English words."""
    return _without_common(_load("first_names.txt.gz"))


@cache
def last_names() -> frozenset[str]:
    return _without_common(_load("last_names.txt.gz"))


@cache
def places() -> frozenset[str]:
    """Cities (GeoNames), minus common English words."""
    return _without_common(_load("places.txt.gz"))


@cache
def regions() -> frozenset[str]:
    """Countries and US states (GeoNames)."""
    return _load("regions.txt.gz")


@cache
def common_words() -> frozenset[str]:
    """Lower-case."""
    return frozenset(_COMMON.split())


def _without_common(words: frozenset[str]) -> frozenset[str]:
    common = common_words()
    return words - common - {w.title() for w in common} - {w.upper() for w in common}


_COMMON = """
a about above after again against all almost also although always am among an and another
any anyone anything are around as at away back be because been before being below best
better between both but by can cannot could did do does doing done down during each either
else enough even ever every everyone everything few first for from further get gets given
go going good got had has have having he her here hers herself him himself his how however
i if in into is it its itself just last least less let like made make many may maybe me
might mine more most much must my myself near need neither never new next no nobody none
nor not nothing now of off often on once one only onto or other others our ours ourselves
out over own per perhaps please quite rather really same she should since so some someone
something sometimes soon still such than thank thanks that the their theirs them themselves
then there these they this those though through thus to today together tomorrow too toward
under until up upon us very via was we well were what whatever when where whether which
while who whom whose why will with within without would yes yet you your yours yourself
hi hello hey dear regards best cheers sincerely kind ok okay sure yeah
monday tuesday wednesday thursday friday saturday sunday january february march april june
july august september october november december spring summer autumn fall winter
north south east west northern southern eastern western central upper lower
street road avenue lane drive court place square way close suite apt apartment floor box
city town state country county province region district village island islands beach
park lake river mountain mountains valley bay port harbour harbor hill hills bridge
mr mrs ms miss dr prof sir madam mister doctor professor captain
company inc ltd llc corp corporation group bank university college school institute
research services service solutions systems technologies technology international global
national federal royal united general public private data software cloud network
team office department ministry council committee board club center centre hospital
phone email mail address name number account card credit debit payment order invoice
customer client user admin support sales manager director engineer developer
api json xml http https url sql html css pdf csv id ssn iban dob
love life time day week month year morning evening night home work world people family
god king queen prince princess lord lady saint st
gold silver black white brown green blue red gray grey golden
music song movie film book story news art sport game games
baby boy girl man woman men women child children friend friends
star sun moon sky rain snow storm wind fire water stone rock sand wood field fields
rose lily iris ivy daisy violet jasmine holly heather hazel
will bill mark grant rich faith hope joy grace chance sky summer autumn dawn
china india jordan chad georgia victoria florence
true false null none yes no
important note warning error info debug todo fixme update new old
question answer request response reply message hello
read write send call check find show tell ask give take use try help
subject re fw fwd cc bcc from to date sent
i'm i'll i've i'd i’m don't can't won't it's that's there's let's we're you're they're
born died age aged live lives lived living moved flew travel trip visit welcome
can could shall should would might must may need dear patient patients
users union orchestra country club america europe asia africa oceania antarctica
additionally however furthermore moreover meanwhile therefore finally firstly secondly
instead otherwise overall unfortunately fortunately actually basically generally currently
recently note remember imagine pretend act respond ignore forget
earth mars moon venus jupiter saturn mercury season seasons devil angel congress senate
american british english german french spanish italian dutch polish russian chinese
japanese korean indian brazilian mexican canadian australian swiss swedish danish
norwegian finnish irish scottish welsh greek turkish czech hungarian portuguese
austrian belgian african european asian latin arab jewish christian muslim catholic
"""
