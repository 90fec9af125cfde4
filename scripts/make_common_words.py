"""Regenerate bot/core/data/common_words.txt from the wordfreq package (by hand, never at run time).

    pip install wordfreq==3.1.1 && python scripts/make_common_words.py

The matcher uses these English word frequencies to tell everyday words a user adds
("even", "catch", "jobs") from rare topic words it does not know ("kyoto", "schengen"):
an unknown everyday word should not sink a question, an unknown rare word should.
Shipping the 15,000-word extract keeps the 58 MB package out of the runtime.
"""

from __future__ import annotations

from pathlib import Path

from wordfreq import top_n_list, zipf_frequency

OUT = Path(__file__).resolve().parent.parent / "bot" / "core" / "data" / "common_words.txt"
HEADER = """\
# English word frequencies (Zipf scale: 7 = "the", 3 = about once per 10 million words).
# Extracted from wordfreq 3.1.1 (https://github.com/rspeer/wordfreq) by
# scripts/make_common_words.py. wordfreq's data is licensed CC BY-SA 4.0 and includes
# data from Google Books Ngrams, OpenSubtitles, SUBTLEX, Wikipedia and others.
"""


def main() -> None:
    lines = []
    for word in top_n_list("en", 20_000):
        if word.isascii() and word.isalpha() and word.islower():
            lines.append(f"{word} {zipf_frequency(word, 'en'):.2f}")
        if len(lines) == 15_000:
            break
    OUT.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} words to {OUT}")


if __name__ == "__main__":
    main()
