"""Knowledge that holds up on real LLM answers: resolution, the gate, value, cold start, collective.

    .venv/bin/python benchmarks/knowledge.py                 # about 10 minutes on 2 cores
    .venv/bin/python benchmarks/knowledge.py --keep DIR      # keep the warehouse for analysis / labelling

Runs the real pipeline through Dagster on amazon-beauty with a frontier LLM's recorded
answers for the whole Fragrance category (`../shared/data/amazon-beauty/llm/fragrance.jsonl`,
served by the `replay` model): catalog_job for every category, interactions_job,
knowledge_job for Fragrance, graph_job. Then:

- resolution and edges are scored against labels people wrote by reading the real output
  (`pkg_assets_tests/fixtures/fragrance_labels/`, GUIDE.md there). Defaults were chosen on
  the `dev` half of the labels (split by head product); figures are printed for `test`
  (the headline) and for all labels;
- value, leak-free: `graph_evaluation` rebuilds the graph from the training split and judges
  the LLM's edges again with training behaviour only (no test interaction anywhere);
  NDCG@10 / Recall@10 for behaviour alone and the fused graph, on all users and on users
  whose test item is in a category with knowledge;
- cold start: a seeded 30% of the Fragrance items is hidden from training entirely
  (behaviour, the gate's evidence); users whose test item is hidden are ranked by behaviour
  alone, by title-embedding kNN over their last items (the content baseline), and by the
  fused recommender (graph neighbours both ways + shared concepts + knowledge vectors +
  content, blended with fixed weights chosen before looking at any test figure);
- REKI's collective claim: calls saved by one call per cluster for the concept factors, and
  the precision of propagated concept edges against the members' own answers.
Ends with `key: value` lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BEAUTY, PROJECT_DIR, QUIET, fresh_pipeline, machine, peak_rss_mb  # noqa: E402
from pkg_assets.resources.warehouse import copy_warehouse, open_folder_warehouse  # noqa: E402

ANSWERS = BEAUTY / "llm" / "fragrance.jsonl"
LABELS = PROJECT_DIR / "pkg_assets_tests" / "fixtures" / "fragrance_labels"
CATEGORY = "Fragrance"
CONCEPT_FACTORS = 3  # occasions, audience, usage: the factors collective extraction stands in for
COLD_SHARE, COLD_SEEDS = 0.30, (0, 1, 2)
# Fused cold-start blend of normalised scores: behaviour neighbours, the LLM's product edges
# (both ways), title content, knowledge vectors, shared concepts. Chosen on the validation
# item (`--tune`), never on the test item.
BLEND = {"behaviour": 0.0, "llm_edges": 1.0, "content": 1.0, "knowledge": 1.0, "concepts": 1.0}
RRF_DEPTH = 200  # reciprocal rank fusion reads each signal's top this many items


def run_pipeline(instance, defs) -> dict[str, float]:
    timings = {}
    categories = defs.resources["catalog"].categories()
    instance.add_dynamic_partitions("category", categories)

    def execute(job: str, partition: str | None = None) -> None:
        started = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition,
                                                              run_config=QUIET, raise_on_error=False)
        if not result.success:
            raise RuntimeError(f"{job} [{partition}] failed: "
                               + "; ".join(e.message for e in result.all_events if e.is_failure)[-2000:])
        timings[f"{job}{'_' + partition if partition else ''}_s"] = time.perf_counter() - started
        print(f"  {job}{' [' + partition + ']' if partition else ''}: {time.perf_counter() - started:.1f}s", flush=True)

    for category in categories:
        execute("catalog_job", category)
    execute("interactions_job")
    execute("knowledge_job", CATEGORY)
    execute("graph_job")
    return timings


def label_figures(conn) -> dict[str, float]:
    from pkg_assets.core.label_eval import edge_scores, load_labels, resolution_scores

    resolution_labels, edge_labels = load_labels(LABELS)
    links = conn.execute("SELECT head_id, relation, tail_mention, decision, tail_id FROM resolved_relations "
                         "WHERE category = ? AND tail_kind = 'product'", [CATEGORY]).df()
    gated = conn.execute(
        "SELECT head_id, relation, tail_id, true AS accepted FROM validated_relations WHERE decision = 'product' "
        "UNION ALL SELECT head_id, relation, tail_id, false FROM rejected_relations "
        "WHERE decision = 'product' AND tail_id IS NOT NULL").df()
    out = {}
    print("| labels | split | labelled | precision | recall / true kept | coverage / false rejected | unjudged |")
    print("|---|---|---|---|---|---|---|")
    for split in ("dev", "test", "all"):
        chosen = resolution_labels if split == "all" else resolution_labels[resolution_labels["split"] == split]
        r = resolution_scores(links, chosen)
        print(f"| resolution | {split} | {r['labelled']} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['coverage']:.3f} | {r['unjudged']} |")
        chosen = edge_labels if split == "all" else edge_labels[edge_labels["split"] == split]
        e = edge_scores(gated, chosen)
        print(f"| edges | {split} | {e['labelled']} | {e['precision']:.3f} | {e['true_kept']:.3f} | "
              f"{e['false_rejected']:.3f} | – |")
        out.update({f"resolution_{k}_{split}": v for k, v in r.items()})
        out.update({f"edges_{k}_{split}": v for k, v in e.items()})
    return out


def evaluation_figures(conn) -> dict[str, float]:
    rows = conn.execute("SELECT recommender, metric, k, value, n_users, segment FROM graph_evaluation "
                        "WHERE k = 10").fetchall()
    found = {(r, m, s): (v, n) for r, m, _, v, n, s in rows}
    print("| recommender (leak-free) | users | NDCG@10 | Recall@10 |")
    print("|---|---|---|---|")
    for segment in ("all", "knowledge"):
        for name in ("popularity", "cooccurrence_knn", "graph_behaviour", "graph_fused"):
            if (name, "ndcg", segment) in found:
                ndcg, users = found[(name, "ndcg", segment)]
                print(f"| {name} [{segment}] | {users} | {ndcg:.4f} | {found[(name, 'recall', segment)][0]:.4f} |")
    return {f"{name}_{metric}10_{segment}": value for (name, metric, segment), (value, _) in found.items()}


class ColdStartScores:
    """Scores over every catalog item from a user's last items (most recent first, each vote
    halved per step back), one vector per signal: title content (cosine of title embeddings, the
    content baseline), knowledge vectors (cosine of knowledge-text embeddings), graph neighbours
    from behaviour and from the LLM's product edges (both ways: "X substitutes Y" is the same
    knowledge seen from Y), and shared concepts (members of the same occasion/audience/usage
    concept, damped by the concept's size). `blend` sums them normalised by their peaks."""

    def __init__(self, ids, matrix, behaviour, llm, concept_rows, knowledge_matrix, has_knowledge,
                 recent: int = 5, decay: float = 0.5):
        import numpy as np

        self.ids, self.matrix, self.recent, self.decay = ids, matrix, recent, decay
        self.position = {pid: i for i, pid in enumerate(ids)}
        self.knowledge_matrix, self.has_knowledge = knowledge_matrix, has_knowledge
        self.behaviour_neighbours: dict[str, dict[str, float]] = {}
        for src, dst, weight in zip(behaviour["src_id"], behaviour["dst_id"], behaviour["weight"]):
            row = self.behaviour_neighbours.setdefault(src, {})
            row[dst] = row.get(dst, 0.0) + float(weight)
        self.knowledge_neighbours: dict[str, dict[str, float]] = {}
        for a, b, weight in zip(llm["src_id"], llm["dst_id"], llm["weight"]):
            for src, dst in ((a, b), (b, a)):
                row = self.knowledge_neighbours.setdefault(src, {})
                row[dst] = row.get(dst, 0.0) + float(weight)
        self.by_concept: dict[str, set[str]] = {}
        self.concepts_of: dict[str, set[str]] = {}
        for pid, concept in concept_rows:
            self.by_concept.setdefault(concept, set()).add(pid)
            self.concepts_of.setdefault(pid, set()).add(concept)
        self._zeros = lambda: np.zeros(len(ids), dtype=np.float32)

    def last_items(self, history: list[str]):
        for age, item in enumerate(reversed(history[-self.recent:])):
            if item in self.position:
                yield self.decay ** age, item

    def content(self, history: list[str]):
        scores = self._zeros()
        for vote, item in self.last_items(history):
            scores += vote * (self.matrix @ self.matrix[self.position[item]])
        return scores

    def knowledge(self, history: list[str]):
        import numpy as np

        scores = self._zeros()
        for vote, item in self.last_items(history):
            if self.has_knowledge[self.position[item]]:
                similarity = self.knowledge_matrix @ self.knowledge_matrix[self.position[item]]
                scores += vote * np.where(self.has_knowledge, similarity, 0)
        return scores

    def walk(self, history: list[str], neighbours: dict[str, dict[str, float]]):
        scores = self._zeros()
        for vote, item in self.last_items(history):
            for dst, weight in neighbours.get(item, {}).items():
                if dst in self.position:
                    scores[self.position[dst]] += vote * weight
        return scores

    def concepts(self, history: list[str]):
        scores = self._zeros()
        for vote, item in self.last_items(history):
            for concept in self.concepts_of.get(item, ()):
                members = self.by_concept[concept]
                for member in members:
                    if member in self.position:
                        scores[self.position[member]] += vote / len(members) ** 0.5
        return scores

    def blend(self, history: list[str], weights: dict[str, float]):
        """Weighted sum of the signals, each normalised by its peak; with `weights["rrf"] = K`,
        reciprocal rank fusion instead (each signal adds weight / (K + rank) to the items it
        scores, rank 1 the best), which ignores how peaked a signal's scores are."""
        import numpy as np

        signals = {"behaviour": lambda: self.walk(history, self.behaviour_neighbours),
                   "llm_edges": lambda: self.walk(history, self.knowledge_neighbours),
                   "content": lambda: self.content(history), "knowledge": lambda: self.knowledge(history),
                   "concepts": lambda: self.concepts(history)}
        total = self._zeros()
        rrf = weights.get("rrf")
        for name, signal in signals.items():
            if weights.get(name):
                scores = signal()
                if rrf:
                    scored = np.flatnonzero(scores > 0)
                    order = scored[np.argsort(-scores[scored], kind="stable")][:RRF_DEPTH]
                    total[order] += weights[name] / (rrf + np.arange(1, len(order) + 1))
                    continue
                peak = float(scores.max())
                if peak > 0:
                    total += weights[name] * scores / peak
        return total

    def top(self, scores, k: int) -> list[str]:
        import numpy as np

        best = np.argpartition(-scores, k)[:k]
        return [self.ids[i] for i in best[np.argsort(-scores[best], kind="stable")]]


def cold_start(conn, blends: dict[str, dict[str, float]] | None = None, split: str = "test",
               seeds: tuple[int, ...] = COLD_SEEDS) -> dict[str, float]:
    """The cold-start protocol (module docstring) on the warehouse the pipeline left behind,
    pooled over several seeded draws of the hidden items (one draw leaves about 135 users, where
    one hit moves Recall@10 by 0.007). `split="validation"` holds out each user's second-to-last
    item instead (for --tune)."""
    import numpy as np

    from pkg_assets.core.metrics import evaluate, leave_last_out
    from pkg_assets.core.recommend import from_behaviour, graph_recommender, popularity_order
    from pkg_assets.defs.evaluation.assets import KNOWLEDGE_TABLES, evaluation_warehouse
    from pkg_assets.resources.embedder import EmbedderResource
    from pkg_assets.resources.warehouse import sql_text

    interactions = conn.execute("SELECT user_id, product_id, position FROM interactions").df()
    full_train, full_test = leave_last_out(interactions)
    if split == "validation":
        full_train, full_test = leave_last_out(full_train)
    items = sorted(r[0] for r in conn.execute("SELECT product_id FROM products WHERE category = ?",
                                              [CATEGORY]).fetchall())
    knowledge = {table: conn.execute(f"SELECT * FROM {table}").df() for table in KNOWLEDGE_TABLES}
    embedded = conn.execute("SELECT product_id, embedding FROM product_embeddings ORDER BY product_id").df()
    ids = embedded["product_id"].tolist()
    position = {pid: i for i, pid in enumerate(ids)}
    matrix = np.asarray(embedded["embedding"].tolist(), dtype=np.float32)
    embedder = EmbedderResource()
    walk = {"recent": 5, "decay": 0.5, "relation_weights": {"next_item": 3.0}}
    hits: dict[str, list[float]] = {}
    hidden_total = users_total = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        hidden = set(rng.choice(items, size=round(COLD_SHARE * len(items)), replace=False).tolist())
        train = full_train[~full_train["product_id"].isin(hidden)]
        targets = full_test[full_test.isin(hidden)]
        hidden_total, users_total = hidden_total + len(hidden), users_total + len(targets)
        histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
        popularity = popularity_order(train)
        # Everything derived from accepted edges comes from the re-gated copy (training
        # behaviour only): the graph, shared concepts, and the knowledge vectors' text.
        with evaluation_warehouse(conn, train, window=5, min_support=1, knowledge=knowledge) as scratch:
            edges = scratch.execute(
                f"SELECT src_id, relation, dst_id, weight, sources FROM ({sql_text('pkg_edges_build')}) "
                "WHERE dst_type = 'product'").df()
            concept_rows = scratch.execute(
                "SELECT head_id, tail_id FROM validated_relations WHERE decision = 'concept' "
                "UNION SELECT pc.product_id, k.concept_id FROM cluster_knowledge k "
                "JOIN product_clusters pc USING (signature) WHERE k.accepted").fetchall()
            texts = scratch.execute(sql_text("knowledge_text"), {"c": CATEGORY}).df()
        knowledge_matrix = np.zeros_like(matrix)
        has_knowledge = np.zeros(len(ids), dtype=bool)
        for pid, vector in zip(texts["product_id"], embedder.encode(texts["knowledge_text"].tolist())):
            if pid in position:
                knowledge_matrix[position[pid]] = vector
                has_knowledge[position[pid]] = True
        behaviour = edges[from_behaviour(edges)]
        scorer = ColdStartScores(ids, matrix, behaviour, edges[~from_behaviour(edges)],
                                 concept_rows, knowledge_matrix, has_knowledge)
        recommenders = {"behaviour": graph_recommender(behaviour, popularity, **walk),
                        "content": lambda history, k: scorer.top(scorer.content(history), k)}
        for name, blend in (blends or {"fused": BLEND}).items():
            recommenders[name] = lambda history, k, blend=blend: scorer.top(scorer.blend(history, blend), k)
        draw = []
        for name, recommend in recommenders.items():
            scores = evaluate(recommend, histories, targets, ks=(10,))
            pooled = hits.setdefault(name, [0.0, 0.0])
            pooled[0] += scores["recall@10"] * len(targets)
            pooled[1] += scores["ndcg@10"] * len(targets)
            draw.append(f"{name} {scores['recall@10']:.4f}")
        print(f"  draw {seed} ({len(targets)} users), Recall@10: " + ", ".join(draw[:4]), flush=True)

    out = {"cold_items_hidden": hidden_total / len(seeds), "cold_test_users": users_total,
           "cold_draws": len(seeds)}
    print(f"| cold start [{split}] ({round(COLD_SHARE * len(items))} of {len(items)} {CATEGORY} items hidden, "
          f"{len(seeds)} draws, {users_total} users) | Recall@10 | NDCG@10 |")
    print("|---|---|---|")
    for name, (recall, ndcg) in hits.items():
        out[f"cold_recall10_{name}"], out[f"cold_ndcg10_{name}"] = recall / users_total, ndcg / users_total
        print(f"| {name} | {recall / users_total:.4f} | {ndcg / users_total:.4f} |", flush=True)
    return out


def collective_figures(conn) -> dict[str, float]:
    from pkg_assets.core.collective import agreement, member_answers

    products = conn.execute("SELECT count(*) FROM products WHERE category = ?", [CATEGORY]).fetchall()[0][0]
    clusters = conn.execute("SELECT count(DISTINCT cluster_id) FROM product_clusters WHERE category = ?",
                            [CATEGORY]).fetchall()[0][0]
    answers = member_answers(conn.execute(
        "SELECT head_id, relation, tail_mention FROM resolved_relations WHERE category = ? AND decision = 'concept'",
        [CATEGORY]).fetchall())
    members = {}
    for signature, pid in conn.execute("SELECT signature, product_id FROM product_clusters WHERE category = ?",
                                       [CATEGORY]).fetchall():
        members.setdefault(signature, []).append(pid)
    rows = conn.execute("SELECT signature, relation, tail_mention, accepted, reasons FROM cluster_knowledge "
                        "WHERE category = ?", [CATEGORY]).fetchall()
    agree = judged = propagated = 0
    for signature, relation, mention, accepted, _ in rows:
        if not accepted:
            continue
        a, c = agreement(members.get(signature, []), relation, mention, answers)
        agree, judged, propagated = agree + a, judged + a + c, propagated + len(members.get(signature, []))
    individual = CONCEPT_FACTORS * products
    out = {
        "collective_individual_concept_calls": individual, "collective_cluster_calls": clusters,
        "collective_calls_saved": individual - clusters,
        "collective_calls_saved_share": (individual - clusters) / individual if individual else 0.0,
        "collective_concept_edges_propagated": propagated,
        "collective_concept_edges_judged": judged,
        "collective_concept_precision": agree / judged if judged else 0.0,
        "collective_concepts_rejected_contradicted": sum(1 for *_, reasons in rows if "contradicted" in (reasons or "")),
    }
    return out


def tune(warehouse: Path, cold_only: bool = False) -> None:  # warehouse: a data directory (from --keep)
    """The sweeps the defaults come from, on the *validation* item (second-to-last per user):
    the graph walk's knowledge weights (GraphEvaluationConfig) and the cold-start blend."""
    import itertools

    from pkg_assets.core.metrics import evaluate, leave_last_out
    from pkg_assets.core.recommend import KNOWLEDGE_RELATIONS, graph_recommender, popularity_order, with_reverse
    from pkg_assets.defs.evaluation.assets import evaluation_graph

    with open_folder_warehouse(warehouse) as conn:
        interactions = conn.execute("SELECT user_id, product_id, position FROM interactions").df()
        train, _ = leave_last_out(interactions)
        fit, validation = leave_last_out(train)
        edges = evaluation_graph(conn, fit, 5, 1)
        items = {p for (p,) in conn.execute("SELECT product_id FROM products WHERE category = ?",
                                            [CATEGORY]).fetchall()}
        histories = fit.groupby("user_id")["product_id"].agg(list).to_dict()
        popularity = popularity_order(fit)
        knowledge_users = validation[validation.isin(items)]
        print("| knowledge weight | both ways | NDCG@10 knowledge users (validation) | NDCG@10 all users |")
        print("|---|---|---|---|")
        for weight, both in ([] if cold_only else itertools.product([1.0, 3.0, 5.0, 8.0], [False, True])):
            walk = graph_recommender(with_reverse(edges) if both else edges, popularity, 5, 0.5,
                                     {"next_item": 3.0, **{r: weight for r in KNOWLEDGE_RELATIONS}})
            print(f"| {weight} | {both} | {evaluate(walk, histories, knowledge_users, ks=(10,))['ndcg@10']:.4f} | "
                  f"{evaluate(walk, histories, validation, ks=(10,))['ndcg@10']:.4f} |", flush=True)
        blends = {f"b{b}_l{g}_c{c}_k{k}_s{sh}": {"behaviour": b, "llm_edges": g, "content": c, "knowledge": k,
                                                  "concepts": sh}
                  for b, g, c, k, sh in itertools.product([0.0, 0.5], [1.0, 3.0], [0.5, 1.0], [1.0, 2.0], [0.5, 1.0])}
        # reciprocal rank fusion of the same signals (K = 10 or 60, the usual constant)
        blends |= {f"rrf{kk}_l{g}_c{c}_k{k}_s{sh}": {"rrf": kk, "llm_edges": g, "content": c, "knowledge": k,
                                                      "concepts": sh}
                   for kk, g, c, k, sh in itertools.product([10, 60], [1.0, 2.0], [1.0], [0.5, 1.0], [0.5, 1.0])}
        cold_start(conn, blends, split="validation")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="copy the warehouse here when done")
    parser.add_argument("--tune", type=Path, metavar="WAREHOUSE",
                        help="run the validation sweeps on a kept warehouse (from --keep) and stop")
    parser.add_argument("--cold-only", action="store_true", help="with --tune: only the cold-start sweep")
    args = parser.parse_args()
    if not ANSWERS.exists():
        print(f"skipped: {ANSWERS} is absent")
        return 0
    if args.tune:
        tune(args.tune, args.cold_only)
        return 0

    started = time.perf_counter()
    with fresh_pipeline(PKG_CATALOG_PATH=str(BEAUTY), PKG_REPLAY_RECORDINGS=str(ANSWERS)) as (instance, defs, data):
        timings = run_pipeline(instance, defs)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            copy_warehouse(data, args.keep)
        with open_folder_warehouse(data) as conn:
            figures = label_figures(conn)
            figures |= evaluation_figures(conn)
            figures |= collective_figures(conn)
            figures |= cold_start(conn)
    wall = time.perf_counter() - started
    print(f"machine: {machine()}")
    print(f"pipeline_s: {sum(timings.values()):.1f}")
    print(f"wall_s: {wall:.1f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    headline = {
        "resolution_precision": figures["resolution_precision_test"],
        "resolution_recall": figures["resolution_recall_test"],
        "resolution_coverage": figures["resolution_coverage_all"],
        "resolution_precision_all_labels": figures["resolution_precision_all"],
        "edge_precision": figures["edges_precision_test"],
        "true_edges_kept": figures["edges_true_kept_test"],
        "false_edges_rejected": figures["edges_false_rejected_test"],
        "edge_precision_all_labels": figures["edges_precision_all"],
        "edges_labelled_share": figures["edges_labelled_share_all"],
        "behaviour_ndcg10_all_users": figures.get("graph_behaviour_ndcg10_all", 0.0),
        "fused_ndcg10_all_users": figures.get("graph_fused_ndcg10_all", 0.0),
        "behaviour_ndcg10_knowledge_users": figures.get("graph_behaviour_ndcg10_knowledge", 0.0),
        "fused_ndcg10_knowledge_users": figures.get("graph_fused_ndcg10_knowledge", 0.0),
        "behaviour_recall10_knowledge_users": figures.get("graph_behaviour_recall10_knowledge", 0.0),
        "fused_recall10_knowledge_users": figures.get("graph_fused_recall10_knowledge", 0.0),
        "cold_recall10_behaviour": figures["cold_recall10_behaviour"],
        "cold_recall10_content": figures["cold_recall10_content"],
        "cold_recall10_fused": figures["cold_recall10_fused"],
        "collective_calls_saved": figures["collective_calls_saved"],
        "collective_calls_saved_share": figures["collective_calls_saved_share"],
        "collective_concept_precision": figures["collective_concept_precision"],
        "collective_concepts_rejected_contradicted": figures["collective_concepts_rejected_contradicted"],
    }
    for key, value in headline.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())
