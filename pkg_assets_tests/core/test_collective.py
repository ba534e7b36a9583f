from pkg_assets.core.collective import agreement, contradicted, member_answers


def test_members_agree_contradict_or_stay_silent():
    answers = member_answers([("A", "for_audience", "women"), ("B", "for_audience", "Women"),
                              ("C", "for_audience", "men"), ("D", "for_occasion", "birthday")])
    assert agreement(["A", "B", "C", "D"], "for_audience", "women", answers) == (2, 1)  # D never answered
    assert agreement(["A", "B", "C"], "for_audience", "men", answers) == (1, 2)
    assert contradicted(1, 2) and not contradicted(2, 1) and not contradicted(0, 0)
