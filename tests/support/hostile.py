"""Team names the templates, the CLI and the ownership rules must all refuse."""

HOSTILE_NAMES = [
    "Bad",
    "a-b",
    "../x",
    "{{7*7}}",
    "49",
    "x;rm -rf ~",
    "",
    "a" * 80,
    "a" * 31,
    "1team",
    "x",
    "team_",
    "a__b",
    "platform",
    "feast",
    "mark eting",
    "märketing",
]
