"""``strategy.matrix`` expanded as the runner expands it (:mod:`pinner.sources.matrix`): the
combinations GitHub documents, which every image of a job is judged over (issue 13, item 16)."""

from __future__ import annotations

from pinner.sources.matrix import combinations
from pinner.sources.yamlsafe import compose, to_python


def combos(matrix_yaml: str) -> list[dict[str, object]]:
    job = compose(f"strategy:\n  matrix:\n{matrix_yaml}", source="w.yml")
    found = combinations(job)
    assert not isinstance(found, str), found
    return [{k: to_python(v) for k, v in combo.items()} for combo in found]


def test_include_and_exclude_follow_githubs_documented_example() -> None:
    # the example of GitHub's workflow syntax documentation, "Expanding or adding matrix
    # configurations": an include adds to every original combination it does not overwrite,
    # may overwrite what an earlier include added, and is a combination of its own otherwise
    assert combos(
        "    fruit: [apple, pear]\n"
        "    animal: [cat, dog]\n"
        "    include:\n"
        "      - color: green\n"
        "      - {color: pink, animal: cat}\n"
        "      - {fruit: apple, shape: circle}\n"
        "      - fruit: banana\n"
        "      - {fruit: banana, animal: cat}\n"
    ) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_exclude_and_include_only_matrices() -> None:
    assert combos("    os: [a, b]\n    v: [1, 2]\n    exclude: [{os: b, v: 2}]\n") == [
        {"os": "a", "v": 1},
        {"os": "a", "v": 2},
        {"os": "b", "v": 1},
    ]
    assert combos("    include: [{image: x}, {image: y}]\n") == [{"image": "x"}, {"image": "y"}]


def test_a_matrix_not_written_out_is_not_guessed() -> None:
    job = compose("strategy:\n  matrix: ${{ fromJSON(needs.a.outputs.m) }}\n", source="w.yml")
    assert isinstance(combinations(job), str)
