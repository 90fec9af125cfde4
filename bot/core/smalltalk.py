"""Small talk and requests outside the bot's job: greetings, thanks, "how are you",
"tell me a joke", "translate this". They get a short fixed reply that says what the bot
can do, never a knowledge answer and never "I don't know that one".

Works on ``clean()`` text. A message counts as small talk only when *all* of it is small
talk: "hi! what is New START?" is a question with a greeting in front, and
``strip_greeting`` hands the question on to the matcher.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Kind(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    HOW_ARE_YOU = "how_are_you"
    WHO_ARE_YOU = "who_are_you"
    HELP = "help"
    JOKE = "joke"
    PRAISE = "praise"
    COMPLAINT = "complaint"
    REQUEST = "request"
    CHATTER = "chatter"


_NAME = (
    r"(?:\s+(?:bot|there|everyone|everybody|all|guys|folks|friend|mate|buddy|amigo|people"
    r"|eln\s*bot|qa\s*bot|y\s*all))?"
)
_GREETING = (
    r"(?:hi+|hey+|hello+|helo|hallo|hiya|howdy|yo|sup|wass?up|whats\s+up|greetings|good\s+"
    r"(?:morning|afternoon|evening|day)|morning|evening|gm|salut|bonjour|hola|privet|ciao|"
    r"happy\s+(?:new\s+year|holidays|birthday|monday|friday|weekend)|merry\s+christmas)"
)
_FILLER = r"(?:\s+(?:so|again|then|too|lol|haha|mate|a\s+lot|so\s+much|very\s+much|man))*"

_WHOLE: tuple[tuple[Kind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^(?:{pattern}){_FILLER}$"))
    for kind, pattern in (
        (Kind.GREETING, rf"{_GREETING}{_NAME}"),
        (
            Kind.THANKS,
            r"(?:(?:ok(?:ay)?|cool|great|nice|perfect|awesome|got\s+it|right)\s+)?"
            r"(?:thanks?|thank\s+you|thankyou|thx|ty|tysm|cheers|much\s+appreciated|merci(?:\s+beaucoup)?|"
            r"spasibo|danke(?:\s+schon)?|gracias|dziekuje|"
            r"appreciate\s+it|ta)(?:\s+(?:bot|you|a\s+lot|so\s+much|that\s+helped(?:\s+a\s+lot)?|"
            r"for\s+(?:the|your)"
            r"\s+(?:help|answer|info)|for\s+that))*",
        ),
        (
            Kind.GOODBYE,
            r"(?:(?:ok(?:ay)?\s+)?(?:thanks\s+)?(?:bye+|goodbye|good\s+night|gn|see\s+(?:you|ya)"
            r"(?:\s+(?:later|tomorrow|soon))?|cya|later|ttyl|farewell|catch\s+you\s+(?:later|"
            r"tomorrow)|i\s+am\s+(?:off|out)|got+a\s+go(?:\s+later)?|have\s+a\s+good\s+"
            r"(?:one|day|night)))(?:\s+(?:bot|all|everyone))?",
        ),
        (
            Kind.HOW_ARE_YOU,
            r"(?:(?:and\s+)?how\s+(?:are|r)\s+(?:you|u|ya)(?:\s+(?:doing|today|bot))*|"
            r"how(?:\s+is|\s*s)\s+(?:it\s+going|your\s+day(?:\s+going)?|life)|"
            r"how(?:\s+is|\s*s)\s+your\s+day\s+going|hows\s+it\s+going|how\s+do\s+you\s+do|"
            r"are\s+you\s+(?:ok|okay|well|good|alright)|what\s+is\s+up|you\s+good|"
            r"how\s+are\s+things|how\s+have\s+you\s+been|how\s+is\s+your\s+day\s+been|"
            r"having\s+a\s+good\s+day|(?:u|you)\s+ok|how(?:\s+is|\s*s)\s+your\s+day\s+been|"
            r"how\s+(?:are\s+)?(?:you|u)\s+doing(?:\s+(?:today|bot))*)",
        ),
        (
            Kind.WHO_ARE_YOU,
            r"(?:who|what)\s+(?:are|r)\s+(?:you|u)|(?:are|r)\s+(?:you|u)\s+(?:a\s+)?"
            r"(?:bot|robot|human|real|person|ai|an\s+ai|chatgpt|a\s+real\s+person|alive|"
            r"sentient)(?:\s+or\s+(?:a\s+)?(?:machine|bot|human|person|robot))?|"
            r"is\s+(?:someone|somebody|a\s+human|a\s+person)\s+(?:actually\s+)?(?:typing|"
            r"writing|answering)\b.*|who\s+(?:made|built|created|programmed|wrote|owns|runs)"
            r"\s+(?:you|u|"
            r"this\s+bot)|what\s+is\s+your\s+name|whats\s+your\s+name|do\s+you\s+have\s+a"
            r"\s+name|are\s+you\s+(?:gpt|chat\s*gpt|an\s+llm)|is\s+this\s+(?:a\s+)?(?:bot|ai)",
        ),
        (
            Kind.HELP,
            r"(?:help|help\s+me|helpp+|i\s+need\s+help|can\s+you\s+help(?:\s+me)?|"
            r"what\s+can\s+(?:you|u)\s+do|what\s+do\s+you\s+do|how\s+do\s+(?:i|you)\s+use"
            r"\s+(?:you|this|this\s+bot|the\s+bot)|commands|menu|start|options|usage)",
        ),
        (
            Kind.JOKE,
            r"(?:(?:tell|give)\s+(?:me|us)\s+(?:a\s+)?(?:joke|something\s+funny)(?:\s+about\s+"
            r"\w+(?:\s+\w+)?)?|(?:do\s+you\s+)?know\s+any\s+(?:good\s+)?jokes|say\s+something\s+funny|joke|"
            r"make\s+me\s+laugh|lol+|haha+|hahaha+|lmao+|rofl|xd|ha|hehe+)",
        ),
        (
            Kind.PRAISE,
            r"(?:good|great|nice|cool|awesome|clever|smart|amazing|helpful)\s+(?:bot|job|"
            r"work|answer)(?:\s+today)?|you\s*(?:are|re|r)\s+(?:doing\s+)?(?:great|awesome|smart|helpful|the\s+best|"
            r"cool|amazing)|i\s+(?:love|like)\s+(?:you|this\s+bot)|well\s+done|nice|cool|"
            r"awesome|great|wow|neat|(?:nice|good|great)\s+answer(?:\s+thanks)?|"
            r"(?:i\s+)?love\s+(?:you|this\s+bot|this)|(?:wow\s+)?you\s*(?:are|re|r)\s+"
            r"(?:so\s+)?(?:fast|quick|smart|smarter\s+than\s+\w+(?:\s+\w+)?)",
        ),
        (
            Kind.COMPLAINT,
            r"(?:you\s+(?:are|re|r)\s+(?:dumb|stupid|useless|wrong|bad|terrible|an\s+idiot)"
            r"|(?:stupid|dumb|useless|bad|terrible)\s+bot|that\s+is\s+(?:wrong|not\s+right|"
            r"useless)|wrong(?:\s+answer)?|shut\s+up|go\s+away|this\s+bot\s+sucks|you\s+suck|"
            r"(?:you\s*(?:are|re|r)\s+useless)|worst\s+bot(?:\s+ever)?)",
        ),
        (
            Kind.CHATTER,
            r"(?:ok(?:ay)?|k|kk|hmm+|hm+|nvm|never\s*mind|brb|sure|alright|test(?:ing)?"
            r"(?:\s+(?:test|\d))*|anyone\s+(?:here|there|around|online)|is\s+anyone\s+"
            r"(?:here|there)|(?:you|u)\s+there|sorry(?:\s+wrong\s+(?:channel|chat))?|oops|yes|no|yep|nope|"
            r"yeah|nah|same|true|indeed|interesting|i\s+see|makes\s+sense|fair\s+enough)",
        ),
    )
)
_GREETING_PREFIX = re.compile(rf"^(?:{_GREETING}{_NAME})\s+(?=\S)")
# Jobs a Q&A bot does not do. "summarise the recommendations" is a question (the
# matcher answers it); "summarise this", "summarise it in French" is not.
_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?|please\s+|pls\s+|"
    r"i\s+(?:want|need)\s+you\s+to\s+|i\s+would\s+like\s+you\s+to\s+)?"
    r"(?:translate\b|write\s+(?:me\s+)?(?:a|an|my|some|the)\b|compose\b|draft\s+(?:me\s+)?"
    r"(?:a|an|my)\b|make\s+(?:me\s+)?a\s+(?:poem|song|story|essay|meme|picture|image)|"
    r"do\s+my\s+(?:homework|essay|assignment)|plan\s+my\b|solve\s+my\b|book\s+(?:me\s+)?a\b|"
    r"order\s+(?:me\s+)?a\b|generate\b|draw\b|sing\b|rewrite\b|"
    r"paraphrase\b|code\b|debug\b|fix\s+my\b|summari[sz]e\s+(?:this|that|it|the\s+above|"
    r"your\s+answer|the\s+answer|that\s+answer)\b|put\s+(?:this|that|it|the\s+answer|"
    r"your\s+answer)\s+(?:in|into)\b|say\s+(?:this|that|it)\s+in\b|"
    r"(?:explain|say)\s+(?:it|this|that)\s+(?:in|like)\b)"
)
_IN_LANGUAGE = re.compile(
    r"\b(?:answer|reply|respond|speak|talk|write|say\s+(?:it|that|this)|tell\s+me)"
    r"(?:\s+(?:to\s+)?me)?\s+(?:in|into)\s+(?:french|german|spanish|russian|polish|ukrainian|italian|chinese|"
    r"japanese|arabic|turkish|dutch|portuguese|swedish|finnish|hindi|another\s+language)\b"
)

REPLIES = {
    Kind.GREETING: "Hi! Ask me anything about the ELN's 2020 NATO-Russia risk-reduction "
    "recommendations, the NATO 2030 report or the treaties they discuss.",
    Kind.THANKS: "You're welcome! Ask again any time.",
    Kind.GOODBYE: "Bye! I'm here whenever you have a question about the recommendations.",
    Kind.HOW_ARE_YOU: "I'm a bot, so always ready. Ask me about the ELN recommendations, "
    "the NATO 2030 report, or treaties like New START and Open Skies.",
    Kind.WHO_ARE_YOU: "I'm a question-answering bot about the ELN's December 2020 "
    "recommendations on NATO-Russia military risk reduction. I answer from a curated "
    "knowledge file and cite my sources.",
    Kind.HELP: "Ask me a question about the ELN's 2020 recommendations, for example "
    '"What are the seven urgent actions?" or "What is the Open Skies Treaty?" '
    "{help_hint}",
    Kind.JOKE: "I only know arms control, and there's nothing funny about a missile race. "
    "Try asking me what the experts recommended!",
    Kind.PRAISE: "Thanks! Ask me anything else about the recommendations.",
    Kind.COMPLAINT: "Sorry about that. Try rephrasing, or use the 👎 button on an answer so "
    "the moderators can improve it.",
    Kind.CHATTER: "I'm here! Ask me a question about the ELN's 2020 recommendations "
    "whenever you like.",
    Kind.REQUEST: "That's outside what I can do: I answer questions about the ELN's 2020 "
    "NATO-Russia risk-reduction recommendations and their context, from a curated "
    "knowledge file.",
}


def strip_greeting(cleaned: str) -> str:
    """The message without a leading "hi bot", so the question behind it is matched."""
    return _GREETING_PREFIX.sub("", cleaned, count=1)


def classify(cleaned: str) -> Kind | None:
    """The kind of small talk ``cleaned`` is, or None when it is (or may be) a question."""
    if not cleaned:
        return None
    if _REQUEST.search(cleaned) or _IN_LANGUAGE.search(cleaned):
        return Kind.REQUEST
    rest = strip_greeting(cleaned)
    for kind, pattern in _WHOLE:
        if pattern.match(cleaned) or pattern.match(rest):
            return kind
    return None


def reply(kind: Kind, help_hint: str = "") -> str:
    """The fixed reply for ``kind``; ``help_hint`` names where more help is (per surface)."""
    return REPLIES[kind].format(help_hint=help_hint).strip()
