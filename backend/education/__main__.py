"""`python -m backend.education readability`: the Flesch-Kincaid grade of every shipped
article (textstat), as a Markdown table."""

import argparse
import sys

from backend.education.library import sources

TARGET_GRADE = 8.5


def readability_table() -> str:
    lines = ["| Article | Words | Flesch-Kincaid grade |", "|---|---:|---:|"]
    for article in sources():
        words = len(article.body.split())
        lines.append(
            f"| {article.title} (`{article.slug}`) | {words} | {article.reading_grade:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.education", description=__doc__)
    parser.add_argument("command", choices=["readability"])
    parser.parse_args(argv)
    print(readability_table())
    worst = max(a.reading_grade for a in sources())
    print(f"\n{len(sources())} articles; highest grade {worst:.1f} (target <= {TARGET_GRADE})")
    return 0 if worst <= TARGET_GRADE else 1


if __name__ == "__main__":
    sys.exit(main())
