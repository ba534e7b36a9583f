import pytest

from pkg_assets.core.extraction import InvalidAnswer, parse_cluster_answer, parse_factor_answer, relation_rows

GOOD = '{"relations": [{"relation": "complement", "tail": " Mother\'s  Day card ", "tail_kind": "product", "confidence": 0.9, "rationale": "gift set"}]}'


def test_parses_valid_answer_and_normalises_the_tail():
    answer = parse_factor_answer(GOOD)
    assert answer.relations[0].tail == "Mother's Day card"


def test_tolerates_a_markdown_fence_and_a_bare_list():
    assert parse_factor_answer("```json\n" + GOOD + "\n```").relations
    assert parse_factor_answer('[{"relation": "substitute", "tail": "tea", "tail_kind": "product", "confidence": 0.5}]').relations


@pytest.mark.parametrize("text, message", [
    ("", "empty answer"),
    ("Sure! Here are some relations", "not JSON"),
    ('{"relations": [{"relation": "best_friend", "tail": "x", "tail_kind": "concept", "confidence": 0.5}]}', "relation"),
    ('{"relations": [{"relation": "complement", "tail": "x", "tail_kind": "product", "confidence": 1.5}]}', "confidence"),
    ('{"relations": [], "note": "extra field"}', "note"),
])
def test_schema_violations_raise_invalid_answer(text, message):
    with pytest.raises(InvalidAnswer, match=message):
        parse_factor_answer(text)


def test_concept_relations_are_always_concepts_and_duplicates_collapse():
    answer = parse_factor_answer(
        '{"relations": [{"relation": "for_occasion", "tail": "Birthday", "tail_kind": "product", "confidence": 0.4},'
        ' {"relation": "for_occasion", "tail": "birthday", "tail_kind": "concept", "confidence": 0.8}]}'
    )
    rows = relation_rows(answer, "P1", "occasions")
    assert len(rows) == 1 and rows[0]["tail_kind"] == "concept" and rows[0]["confidence"] == 0.8


def test_cluster_answer_schema():
    answer = parse_cluster_answer('{"theme": "gifts", "relations": []}')
    assert answer.theme == "gifts"
