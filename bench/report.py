"""The table and the chart of bench/run.sh, from RESULTS/results.jsonl and RESULTS/meta.json.

usage: report.py RESULTS_DIR   (writes RESULTS_DIR/table.md and RESULTS_DIR/chart.svg, prints the table)

Every ratio is ours / theirs of a cost: time per token, time per request (1 / throughput),
p99 latency, bytes per session. Below 1, ours is cheaper.
"""

import json
import math
import sys
from html import escape
from pathlib import Path

out = Path(sys.argv[1])
meta = json.loads((out / "meta.json").read_text())
rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]

token = {(r["group"], r["name"]): r["ns"] for r in rows if r["kind"] == "token"}
http = {(r["name"], r["alg"]): r for r in rows if r["kind"] == "http"}
web = {(r["store"], r["app"]): r for r in rows if r["kind"] == "web"}
steps = {r["step"]: r for r in rows if r["kind"] == "client_step"}


def us(ns):
    return f"{ns / 1000:.3g} µs" if ns < 1e6 else f"{ns / 1e6:.3g} ms"


def num(x):
    return f"{x:,.0f}".replace(",", " ")


table = []  # (section, comparison, ours, theirs, ratio, chart)


def add(section, label, ours, theirs, ratio, chart=True):
    table.append((section, label, ours, theirs, ratio, chart))


PEERS = {
    "jsonwebtoken_aws_lc": "jsonwebtoken 12 + aws-lc, wired by hand",
    "axum_jwt_auth": "axum-jwt-auth 0.7 (jsonwebtoken 10, RustCrypto)",
    "logto_guide_jsonwebtoken": "Logto's Rust guide (axum + jsonwebtoken 9)",
}

for alg in ["es384", "rs256"]:
    g = f"peers_{alg}"
    sec = f"API token, per token, {alg.upper()} (criterion median)"
    unc, cac, floor = token.get((g, "logto_rs_uncached")), token.get((g, "logto_rs_cached")), token.get((g, "floor_aws_lc_verify"))
    if unc and floor:
        add(sec, "uncached vs the floor (one aws-lc-rs verification)", us(unc), us(floor), unc / floor, False)
    for peer, label in PEERS.items():
        theirs = token.get((g, peer))
        if not theirs:
            continue
        if unc:
            add(sec, f"uncached vs {label}", us(unc), us(theirs), unc / theirs)
        if cac:
            add(sec, f"cached vs {label}", us(cac), us(theirs), cac / theirs)

g = "peers_id_token_es384"
if (g, "logto_rs") in token:
    sec = "Web-app client, ES384 ID token verification (criterion median)"
    ours = token[(g, "logto_rs")]
    if (g, "openidconnect") in token:
        add(sec, "logto vs openidconnect 4", us(ours), us(token[(g, "openidconnect")]), ours / token[(g, "openidconnect")])
    if (g, "floor_aws_lc_verify") in token:
        add(sec, "logto vs the floor (one aws-lc-rs verification)", us(ours), us(token[(g, "floor_aws_lc_verify")]), ours / token[(g, "floor_aws_lc_verify")], False)

HTTP_PEERS = dict(PEERS)
HTTP_PEERS["python_guide_jwks_at_startup"] = "Logto's Python API-protection guide, JWKS at startup"
HTTP_PEERS["python_guide_as_written"] = "Logto's Python API-protection guide as written"
for alg in ["ES384", "RS256"]:
    sec = f"API server over HTTP, {alg} (wrk: req/s, p99)"
    for peer, label in HTTP_PEERS.items():
        theirs = http.get((peer, alg))
        if not theirs:
            continue
        for mode in ["cached", "uncached"]:
            ours = http.get((f"logto_rs_{mode}", alg))
            if not ours:
                continue
            add(sec, f"{mode} vs {label}: time per request",
                f"{num(ours['rps'])} req/s", f"{num(theirs['rps'])} req/s", theirs["rps"] / ours["rps"])
            add(sec, f"{mode} vs {label}: p99",
                f"{ours['p99_ms']:.3g} ms", f"{theirs['p99_ms']:.3g} ms", ours["p99_ms"] / theirs["p99_ms"], False)

def cpu(r, with_store):
    """CPU time per request of an app (with Redis's, `with_store`), in µs."""
    return r["cpu_us_per_request"] if with_store else r["app_cpu_us_per_request"]


for store in ["memory", "redis"]:
    ours, base = web.get((store, "logto")), web.get((store, "baseline"))
    if not (ours and base):
        continue
    pinned = ours.get("pinned", False)
    # Pinned (the apps on a core of their own), the CPU time an app spends per request is its
    # cost, and throughput is often bound by the load generator; unpinned, time per request.
    goal = "CPU time per request" if pinned else "time per request"
    where = "the apps on a core of their own" if pinned else "not pinned"
    sec = f"Web app under load, {store} store, {where} (goal: {goal} within 1.10 of the baseline)"
    cpu_rows = [(False, "app")] + ([(True, "app + Redis")] if store == "redis" else [])

    def against_baseline(name, app):
        """The goal's rows: `app` against the same route without Logto."""
        for with_store, what in cpu_rows:
            add(sec, f"{name} vs the same route without Logto: CPU time per request ({what})",
                f"{cpu(app, with_store):.3g} µs", f"{cpu(base, with_store):.3g} µs",
                cpu(app, with_store) / cpu(base, with_store), pinned)
        add(sec, f"{name} vs the same route without Logto: time per request",
            f"{num(app['rps'])} req/s", f"{num(base['rps'])} req/s", base["rps"] / app["rps"], not pinned)
        add(sec, f"{name} vs the same route without Logto: p99",
            f"{app['p99_ms']:.3g} ms", f"{base['p99_ms']:.3g} ms", app["p99_ms"] / base["p99_ms"], False)

    against_baseline("sample", ours)
    add(sec, "memory per signed-in session",
        f"{num(ours['bytes_per_session'])} B", f"{num(base['bytes_per_session'])} B",
        ours["bytes_per_session"] / max(base["bytes_per_session"], 1), False)
    sized = web.get((store, "baseline-sized"))
    if sized:
        for with_store, what in cpu_rows:
            add(sec, f"sample vs the same route without Logto, sessions as large as the sample's: CPU time per request ({what})",
                f"{cpu(ours, with_store):.3g} µs", f"{cpu(sized, with_store):.3g} µs",
                cpu(ours, with_store) / cpu(sized, with_store), False)
            add(sec, f"the bytes alone: the route without Logto, sessions as large as the sample's vs its own: CPU time per request ({what})",
                f"{cpu(sized, with_store):.3g} µs", f"{cpu(base, with_store):.3g} µs",
                cpu(sized, with_store) / cpu(base, with_store), False)
    actix = web.get((store, "logto-actix"))
    if actix:
        against_baseline("actix-web sample", actix)
        for with_store, what in cpu_rows:
            add(sec, f"actix-web sample vs the axum sample: CPU time per request ({what})",
                f"{cpu(actix, with_store):.3g} µs", f"{cpu(ours, with_store):.3g} µs",
                cpu(actix, with_store) / cpu(ours, with_store), False)
        add(sec, "actix-web sample: memory per signed-in session",
            f"{num(actix['bytes_per_session'])} B", f"{num(base['bytes_per_session'])} B",
            actix["bytes_per_session"] / max(base["bytes_per_session"], 1), False)

STEP_LABELS = {
    "sign_in_url": "sign-in URL",
    "callback": "sign-in callback (code exchange, ID token verified)",
    "access_token_cached": "cached access token",
    "id_token_claims": "ID-token claims",
    "verify_id_token": "ID-token verification",
}
for step, label in STEP_LABELS.items():
    r = steps.get(step)
    if r and r.get("python_us"):
        add("Web-app client vs Logto's Python SDK (median per step)", label,
            us(r["ours_us"] * 1000), us(r["python_us"] * 1000), r["ours_us"] / r["python_us"])

# --- markdown ---------------------------------------------------------------------------------
lines = [
    f"Measured {meta['date']} on {meta['machine']}; load average {meta['load_before']} before, "
    f"{meta.get('load_after', '?')} after; commit {meta['commit']}; "
    f"{'quick run' if meta['quick'] else 'full run'} of {meta.get('duration_s', 0) // 60} min "
    f"{meta.get('duration_s', 0) % 60} s; HTTP: wrk {meta['wrk']}.",
    "",
    "Ratio = ours / theirs of a cost (time per token, time per request = 1 / throughput, p99, "
    "bytes): below 1, ours is cheaper.",
    "",
]
section = None
for sec, label, ours, theirs, ratio, _ in table:
    if sec != section:
        lines += ["", f"**{sec}**", "", "| comparison | ours | theirs | ours / theirs |", "| --- | ---: | ---: | ---: |"]
        section = sec
    lines.append(f"| {label} | {ours} | {theirs} | {ratio:.3g} |")

scaling = {r["name"]: r for r in rows if r["kind"] == "http" and r["name"].startswith("scaling_")}
if scaling:
    lines += ["", "**Per-core scaling (ES384, tokio worker threads; wrk runs on the same 2 cores)**", "",
              "| validation | 1 worker | 2 workers | 2 / 1 |", "| --- | ---: | ---: | ---: |"]
    for mode in ["cached", "uncached"]:
        one, two = scaling.get(f"scaling_{mode}_workers_1"), scaling.get(f"scaling_{mode}_workers_2")
        if one and two:
            lines.append(f"| {mode} | {num(one['rps'])} req/s | {num(two['rps'])} req/s | {two['rps'] / one['rps']:.2f} |")

distinct = sorted(
    (int(r["extra"]), r) for r in rows if r["kind"] == "http" and r["name"].startswith("distinct_")
)
if distinct:
    first = distinct[0][1]["rps"]
    off = http.get(("logto_rs_uncached", "ES384"))
    lines += ["", "**Distinct tokens (ES384, example server, verified-token cache of 10 000, random access)**", "",
              "Throughput relative to one token, and to the same server with the cache off "
              f"(`TOKEN_CACHE_CAPACITY=0`, {num(off['rps']) if off else '?'} req/s above).", "",
              "| distinct tokens | req/s | p99 | vs 1 token | vs cache off |", "| ---: | ---: | ---: | ---: | ---: |"]
    for n, r in distinct:
        vs_off = f"{r['rps'] / off['rps']:.2f}" if off else "-"
        lines.append(f"| {num(n)} | {num(r['rps'])} | {r['p99_ms']:.3g} ms | {r['rps'] / first:.3f} | {vs_off} |")

md = "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
(out / "table.md").write_text(md)
print(md)

# --- chart ------------------------------------------------------------------------------------
bars = [(sec, label, ratio) for sec, label, _, _, ratio, chart in table if chart]
LO, HI = -4.0, 1.0  # log10 axis: 0.0001 … 10
label_w, bar_w, row_h, top = 560, 380, 20, 70
section_rows = len({sec for sec, _, _ in bars})
height = top + (len(bars) + section_rows) * row_h + 50
width = label_w + bar_w + 80
x_of = lambda v: label_w + (min(max(math.log10(v), LO), HI) - LO) / (HI - LO) * bar_w
svg = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
    f'<rect width="{width}" height="{height}" fill="white"/>',
    f'<text x="10" y="22" font-size="15" font-weight="bold">logto-rs / alternative: cost ratio (log scale; left of 1 = logto-rs cheaper)</text>',
    f'<text x="10" y="42" fill="#555">{escape(meta["date"])}, {escape(meta["machine"])}, load {escape(meta["load_before"])}; time per token or per request</text>',
]
for e in range(int(LO), int(HI) + 1):
    x = x_of(10**e)
    svg.append(f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 40}" stroke="{"#000" if e == 0 else "#ddd"}"/>')
    svg.append(f'<text x="{x:.1f}" y="{height - 25}" text-anchor="middle" fill="#555">{10**e:g}</text>')
y, section = top, None
for sec, label, ratio in bars:
    if sec != section:
        svg.append(f'<text x="10" y="{y + 14}" font-weight="bold">{escape(sec)}</text>')
        y += row_h
        section = sec
    x0, x1 = x_of(1), x_of(ratio)
    color = "#2e7d32" if ratio < 1 else "#c62828"
    svg.append(f'<text x="20" y="{y + 14}">{escape(label)}</text>')
    svg.append(f'<rect x="{min(x0, x1):.1f}" y="{y + 4}" width="{max(abs(x1 - x0), 1):.1f}" height="{row_h - 8}" fill="{color}"/>')
    svg.append(f'<text x="{max(x0, x1) + 4:.1f}" y="{y + 14}" fill="#333">{ratio:.3g}</text>')
    y += row_h
svg.append("</svg>")
(out / "chart.svg").write_text("\n".join(svg) + "\n")
