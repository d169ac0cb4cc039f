"""Markdown tables and target checks from the results of compare.py."""

import numpy as np

HIDDEN_UNITS = 128  # the W3 network


def pass_limit_seconds(limits, workload):
    """Lower bound of one full-batch pass (or one W3 epoch) on this machine.

    A linear pass reads X once (bytes / streaming rate) and does two products
    of 2*n*d*k FLOP each (FLOP / GEMM rate); the bound is the larger of the
    two. A W3 epoch does three products per layer (forward, weight gradient,
    input gradient; the first layer's input gradient is not needed but is
    counted, so the bound is generous by a sixth).
    """
    n, d, classes = limits["n_samples"], limits["n_features"], limits["n_classes"]
    k = 1 if classes == 2 else classes
    if workload == "W3":
        flop = 6.0 * n * (d * HIDDEN_UNITS + HIDDEN_UNITS * k)
    else:
        flop = 4.0 * n * d * k
    return max(
        limits["x_bytes"] / limits["stream_bytes_per_second"],
        flop / limits["gemm_flop_per_second"],
    )


def median(result):
    times = result.get("epoch_seconds")
    return float(np.median(times)) if times else None


def fmt_ms(seconds):
    return "-" if seconds is None else f"{1e3 * seconds:.3g}"


def fmt(value, pattern="{:.4g}"):
    return (
        "-"
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else pattern.format(value)
    )


def contender_rows(entry):
    lines = [
        "| contender | epoch kind | median ms | min ms | to target s | final cost "
        "| accuracy | RSS growth / X |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in entry.items():
        if not isinstance(result, dict) or name == "limits":
            continue
        if "error" in result:
            lines.append(f"| {name} | failed: {result['error']} |||||||")
            continue
        if "not_available" in result:
            lines.append(f"| {name} | not available: {result['not_available']} |||||||")
            continue
        times = result.get("epoch_seconds")
        fastest = min(times) if times else None
        growth = result.get("rss_growth_bytes")
        ratio = None if growth is None else growth / result["x_bytes"]
        target = result.get("target_seconds")
        target_text = fmt(target, "{:.3g}")
        if target is None and result.get("target_note"):
            target_text = "n/a (" + result["target_note"] + ")"
        elif target is not None and result.get("target_setting"):
            target_text += f" ({result['target_setting']})"
        lines.append(
            f"| {name} | {result.get('epoch_kind')} | {fmt_ms(median(result))} "
            f"| {fmt_ms(fastest)} | {target_text} | {fmt(result.get('final_cost'))} "
            f"| {fmt(result.get('accuracy'), '{:.4f}')} | {fmt(ratio, '{:.2f}')} |"
        )
    return lines


def best_target(entry, prefix):
    times = [
        r.get("target_seconds")
        for name, r in entry.items()
        if name.startswith(prefix)
        and isinstance(r, dict)
        and r.get("target_seconds") is not None
    ]
    return min(times) if times else None


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def target_checks(workload, entry):
    """(description, measured ratio, goal) for each target of the workload.

    A positive goal is a minimum; a negative goal -g is a maximum of g.
    """
    get = lambda name: entry.get(name, {})  # noqa: E731
    checks = []
    if workload == "W3":
        fastml = median(get("fastml MLPClassifier"))
        limit = (
            pass_limit_seconds(entry["limits"], workload)
            if "n_samples" in entry["limits"]
            else None
        )
        checks.append(
            ("W3 epoch: torch / fastml", ratio(median(get("torch MLP")), fastml), 1.5)
        )
        checks.append(
            (
                "W3 epoch: MLPClassifier / fastml",
                ratio(median(get("sklearn MLPClassifier")), fastml),
                2.0,
            )
        )
        checks.append(
            (
                "W3 epoch: GEMM limit / fastml (>= 0.5 is within 2x)",
                ratio(limit, fastml),
                0.5,
            )
        )
        return checks
    full = median(get("fastml full adam"))
    if workload in ("W1", "W2"):
        limit = pass_limit_seconds(entry["limits"], workload)
        checks.append(
            (
                "full-batch step: limit / fastml (>= 0.714 is within 1.4x)",
                ratio(limit, full),
                1 / 1.4,
            )
        )
        checks.append(
            (
                "full-batch step: torch / fastml",
                ratio(median(get("torch full")), full),
                1.5,
            )
        )
        mini = median(get("fastml mb128 adam"))
        checks.append(
            (
                "mini-batch-128 epoch: torch / fastml",
                ratio(median(get("torch mb128")), mini),
                10.0,
            )
        )
        checks.append(
            (
                "mini-batch-128 epoch: SGDClassifier / fastml",
                ratio(median(get("sklearn SGDClassifier")), mini),
                10.0,
            )
        )
        checks.append(
            (
                "full-batch step: 1 thread / 2 threads",
                ratio(median(get("fastml full adam 1 thread")), full),
                1.8,
            )
        )
        growth = get("fastml full adam").get("rss_growth_bytes")
        x_bytes = get("fastml full adam").get("x_bytes")
        checks.append(
            (
                "memory: RSS growth during fit / X bytes (at most 0.1)",
                ratio(growth, x_bytes) if growth is not None else None,
                -0.1,
            )
        )
    if workload in ("W1", "W2", "R1-digits"):
        fastml_best = best_target(entry, "fastml")
        checks.append(
            (
                "to target: sklearn lbfgs / fastml best",
                ratio(get("sklearn lbfgs").get("target_seconds"), fastml_best),
                5.0,
            )
        )
        checks.append(
            (
                "to target: torch best / fastml best",
                ratio(best_target(entry, "torch"), fastml_best),
                1.5,
            )
        )
    return checks


def render(results):
    machine = results["machine"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores; "
        f"Python {machine['python']}, NumPy {machine['numpy']}, "
        f"scikit-learn {machine['scikit-learn']}, PyTorch {machine['torch']}.",
        "",
    ]
    for workload, entry in results["workloads"].items():
        limits = entry["limits"]
        lines.append(f"### {workload}")
        if "stream_bytes_per_second" in limits:
            stream = limits["stream_bytes_per_second"] / 1e9
            gemm = limits["gemm_flop_per_second"] / 1e9
            limit = pass_limit_seconds(limits, workload)
            lines.append(
                f"X {limits['n_samples']} x {limits['n_features']}, "
                f"{limits['n_classes']} classes; streaming {stream:.1f} GB/s, "
                f"GEMM {gemm:.0f} GFLOP/s, pass limit {fmt_ms(limit)} ms; "
                f"target cost {fmt(entry.get('target_cost'))}."
            )
        lines.append("")
        lines.extend(contender_rows(entry))
        lines.append("")
        checks = target_checks(workload, entry)
        if checks:
            lines.append("| target | measured | goal | met |")
            lines.append("|---|---|---|---|")
            for description, measured, goal in checks:
                if measured is None:
                    met = "-"
                else:
                    met = (
                        "yes"
                        if (measured >= goal if goal > 0 else measured <= -goal)
                        else "no"
                    )
                bound = f">= {goal:.3g}" if goal > 0 else f"<= {-goal:.3g}"
                lines.append(
                    f"| {description} | {fmt(measured, '{:.3g}')} | {bound} | {met} |"
                )
            lines.append("")
    return "\n".join(lines)
