"""The shipped articles: enough of them, covering what a clinic needs, each in plain language
(Flesch-Kincaid grade at most 8.5, computed with textstat)."""

from backend.education.__main__ import TARGET_GRADE, readability_table
from backend.education.library import plain_text, sources

REQUIRED = {"diabetes", "hypertension", "heart failure", "copd", "depression"}
TOPICS = {"medicines", "visits", "safety"}


def test_at_least_twelve_articles_cover_the_conditions_and_topics():
    articles = sources()
    assert len(articles) >= 12
    assert len({a.slug for a in articles}) == len(articles)
    assert {c for a in articles for c in a.conditions} >= REQUIRED
    assert {t for a in articles for t in a.topics} >= TOPICS
    assert any("call" in a.slug for a in articles)
    for article in articles:
        assert article.title and article.summary and article.language == "en"
        assert article.body.startswith("# ")


def test_every_article_reads_at_grade_eight_and_a_half_or_below():
    table = readability_table()
    print("\n" + table)
    too_hard = {a.slug: a.reading_grade for a in sources() if a.reading_grade > TARGET_GRADE}
    assert not too_hard, too_hard


def test_markdown_is_stripped_before_scoring():
    text = plain_text("# Title\n\n- **Bold** item\n- [A link](https://x.example)\n")
    assert text == "Title.\nBold item.\nA link."
