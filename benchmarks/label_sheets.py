"""Labelling sheets for the real-answer label set (pkg_assets_tests/fixtures/fragrance_labels/).

    .venv/bin/python benchmarks/label_sheets.py resolution DATA_DIR OUT_DIR [--n 400] [--seed 0]
    .venv/bin/python benchmarks/label_sheets.py edges OUT_DIR DATA_DIR [DATA_DIR ...] [--n 420]

A sheet is what a labeller reads: titles come from the warehouse (built from
../shared/data/amazon-beauty, never copied into the repository), the labels they write
hold only ids. See the fixtures' GUIDE.md for the rules.

- `resolution`: a random sample of the LLM's product mentions (head, relation, mention),
  each with up to 15 catalog candidates in random order: the resolver's own top 5 plus the
  nearest titles by TF-IDF and by embedding, so the sheet judges any resolver, not just
  the one that made it. The labeller marks every candidate the mention names.
- `edges`: product edges (head, relation, tail product) sampled at random from the union
  of the gated edges of one or more warehouses (e.g. before and after a resolver change),
  stratified over relation and over accepted / rejected.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from pkg_assets.resources.warehouse import open_folder_warehouse  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


LABELS = Path(__file__).resolve().parent.parent / "pkg_assets_tests" / "fixtures" / "fragrance_labels"


def _labelled(name: str, columns: list[str]) -> set[tuple]:
    """Keys already labelled: a new sheet never asks twice."""
    import pandas as pd

    path = LABELS / name
    if not path.exists():
        return set()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return set(zip(*(frame[c] for c in columns)))


def _next_item(name: str) -> int:
    import pandas as pd

    path = LABELS / name
    if not path.exists():
        return 1
    return int(pd.read_csv(path, dtype=str)["item"].str[1:].astype(int).max()) + 1


def _leaf(path: str | None) -> str:
    parts = [p.strip() for p in (path or "").split(">") if p.strip()]
    return parts[-1] if parts else ""


def resolution_sheet(warehouse: Path, out: Path, n: int, seed: int) -> None:
    import numpy as np

    from pkg_assets.core.resolve import lexical_form
    from pkg_assets.defs.resolution.assets import load_catalog_index
    from pkg_assets.resources.embedder import EmbedderResource

    with open_folder_warehouse(warehouse) as conn:
        rows = conn.execute(
            "SELECT head_id, relation, tail_mention, candidates FROM resolved_relations "
            "WHERE tail_kind = 'product' AND category = 'Fragrance' ORDER BY head_id, relation, tail_mention"
        ).df()
        products = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT product_id, title, category_path FROM products").fetchall()}
        index = load_catalog_index(conn)
    rows = rows.drop_duplicates(["head_id", "relation", "tail_mention"])
    done = _labelled("resolution.csv", ["head_id", "relation", "mention"])
    rows = rows[[key not in done for key in zip(rows["head_id"], rows["relation"], rows["tail_mention"])]]
    sample = rows.sample(n=min(n, len(rows)), random_state=seed)
    first = _next_item("resolution.csv")
    mentions = sorted(set(sample["tail_mention"]))
    vectors = dict(zip(mentions, EmbedderResource().encode(mentions)))
    dense, _ = index.search(np.stack([vectors[m] for m in mentions]), 8)
    lexical = index.lexical_search([lexical_form(m) for m in mentions], 10)
    near = {m: ([index.product_ids[int(p)] for p in lexical[i]], [index.product_ids[int(p)] for p in dense[i] if p >= 0])
            for i, m in enumerate(mentions)}
    rng = random.Random(seed)
    items = []
    for number, row in enumerate(sample.itertuples(index=False), start=first):
        own = [c["product_id"] for c in json.loads(row.candidates or "[]")]
        by_text, by_meaning = near[row.tail_mention]
        shown: list[str] = []
        for pid in [*own[:5], *by_text[:6], *by_meaning[:4], *by_text[6:], *by_meaning[4:]]:
            if pid not in shown and pid != row.head_id and len(shown) < 15:
                shown.append(pid)
        rng.shuffle(shown)
        head_title, head_path = products[row.head_id]
        items.append({
            "item": f"R{number:03d}", "head_id": row.head_id, "head_title": head_title, "head_leaf": _leaf(head_path),
            "relation": row.relation, "mention": row.tail_mention,
            "candidates": [{"n": i + 1, "product_id": pid, "title": products[pid][0], "leaf": _leaf(products[pid][1])}
                           for i, pid in enumerate(shown)],
        })
    write_sheets(out, "resolution", items, render_resolution)


def render_resolution(item: dict) -> str:
    lines = [f"### {item['item']}",
             f"HEAD: {item['head_title']}  [{item['head_leaf']}]",
             f"RELATION: {item['relation']}",
             f"MENTION: {item['mention']}",
             "CANDIDATES:"]
    lines += [f"  {c['n']:>2}. {c['title']}  [{c['leaf']}]" for c in item["candidates"]]
    return "\n".join(lines)


def edge_sheet(warehouses: list[Path], out: Path, n: int, seed: int) -> None:
    import pandas as pd

    frames = []
    for warehouse in warehouses:
        with open_folder_warehouse(warehouse) as conn:
            frames.append(conn.execute(
                "SELECT head_id, relation, tail_id, true AS accepted FROM validated_relations "
                "WHERE decision = 'product' AND category = 'Fragrance' "
                "UNION ALL SELECT head_id, relation, tail_id, false FROM rejected_relations "
                "WHERE decision = 'product' AND category = 'Fragrance' AND tail_id IS NOT NULL").df())
            products = {r[0]: (r[1], r[2]) for r in conn.execute(
                "SELECT product_id, title, category_path FROM products").fetchall()}
    edges = pd.concat(frames).drop_duplicates(["head_id", "relation", "tail_id"])
    done = _labelled("edges.csv", ["head_id", "relation", "tail_id"])
    edges = edges[[key not in done for key in zip(edges["head_id"], edges["relation"], edges["tail_id"])]]
    rng = random.Random(seed)
    strata = sorted(edges.groupby(["relation", "accepted"]).groups.items(), key=lambda kv: kv[0])
    per_stratum = max(1, n // len(strata))
    picked = []
    for _, index in strata:
        rows = edges.loc[index].drop_duplicates(["head_id", "relation", "tail_id"]).to_dict("records")
        rng.shuffle(rows)
        picked += rows[:per_stratum]
    # One pair can sit in two strata (accepted in one warehouse, rejected in another).
    picked = list({(r["head_id"], r["relation"], r["tail_id"]): r for r in picked}.values())
    rng.shuffle(picked)
    items = []
    for number, row in enumerate(picked, start=_next_item("edges.csv")):
        head_title, head_path = products[row["head_id"]]
        tail_title, tail_path = products[row["tail_id"]]
        items.append({"item": f"E{number:03d}", "head_id": row["head_id"], "relation": row["relation"],
                      "tail_id": row["tail_id"], "head_title": head_title, "head_leaf": _leaf(head_path),
                      "tail_title": tail_title, "tail_leaf": _leaf(tail_path)})
    write_sheets(out, "edges", items, render_edge)


def render_edge(item: dict) -> str:
    return "\n".join([f"### {item['item']}",
                      f"HEAD: {item['head_title']}  [{item['head_leaf']}]",
                      f"RELATION: head --{item['relation']}--> tail",
                      f"TAIL: {item['tail_title']}  [{item['tail_leaf']}]"])


def write_sheets(out: Path, kind: str, items: list[dict], render) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{kind}_items.json").write_text(json.dumps(items, indent=1, ensure_ascii=False))
    halves = [items[: (len(items) + 1) // 2], items[(len(items) + 1) // 2:]]
    for part, chunk in zip("ab", halves):
        (out / f"{kind}_sheet_{part}.md").write_text("\n\n".join(render(item) for item in chunk) + "\n")
    print(f"{len(items)} {kind} items -> {out}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["resolution", "edges"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.kind == "resolution":
        resolution_sheet(Path(args.paths[0]), Path(args.paths[1]), args.n, args.seed)
    else:
        edge_sheet([Path(p) for p in args.paths[1:]], Path(args.paths[0]), args.n, args.seed)
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())
