"""Largest Contentful Paint of a publisher page with and without the product card.

    .venv/bin/python bench/widget_lcp.py [--runs 5] [--lighthouse DIR]

Serves the demo shop and the demo blog on loopback (two origins, as in real life), then runs
Lighthouse (mobile, simulated throttling: the "Slow 4G" 150 ms RTT, 1.6 Mbit/s, 4x CPU model)
on the blog's short article /blog/beans-for-beginners, whose product card sits right under
the first paragraph, and on the same article without the card (?nocard); prints the medians.
Lighthouse comes from npm, installed outside the repository:
``mkdir -p /tmp/lh && cd /tmp/lh && npm i lighthouse@12.8`` (Node 20 is enough for 12.8).
Chromium is Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from buybutton_server import Settings  # noqa: E402
from buybutton_server.runner import build_demo  # noqa: E402
from tests.live_server import LiveServers, free_port  # noqa: E402


def lighthouse(cli: Path, url: str, out: Path, method: str) -> dict[str, float]:
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")}
    subprocess.run(
        [
            "node",
            str(cli),
            url,
            "--quiet",
            "--only-categories=performance",
            f"--throttling-method={method}",
            "--output=json",
            f"--output-path={out}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
        ],
        check=True,
        env=env,
        timeout=240,
    )
    audits = json.loads(out.read_text())["audits"]
    return {
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lighthouse", default="/tmp/lh", help="where npm installed it")
    parser.add_argument("--keep", help="keep the Lighthouse JSON reports in this folder")
    parser.add_argument(
        "--method",
        choices=("simulate", "devtools"),
        default="simulate",
        help="simulate: Lighthouse's default model; devtools: really throttled in the browser",
    )
    args = parser.parse_args()
    cli = Path(args.lighthouse) / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        sys.exit(
            f"no Lighthouse at {cli}: mkdir -p {args.lighthouse} && cd {args.lighthouse} "
            "&& npm i lighthouse@12.8"
        )
    with tempfile.TemporaryDirectory() as tmp:
        shop_port, blog_port = free_port(), free_port()
        settings = Settings(
            secret_keys=("bench-widget-secret-0123456789abcdefXYZ",),
            database_url=f"sqlite:///{tmp}/shop.sqlite3",
            base_url=f"http://127.0.0.1:{shop_port}",
            port=shop_port,
        )
        shop, blog, _, blog_base = build_demo(settings, blog_port)
        pages = {"without-card": "?nocard", "with-card": ""}
        results: dict[str, list[dict[str, float]]] = {page: [] for page in pages}
        keep = Path(args.keep or tmp)
        keep.mkdir(parents=True, exist_ok=True)
        with LiveServers([(shop, shop_port), (blog, blog_port)]):
            for run in range(args.runs):
                for page, query in pages.items():
                    out = keep / f"{page}-{run}.json"
                    url = f"{blog_base}/blog/beans-for-beginners{query}"
                    results[page].append(lighthouse(cli, url, out, args.method))
    summary = {
        page: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for page, runs in results.items()
    }
    report = {"method": args.method, "runs": args.runs, "median": summary, "all": results}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
