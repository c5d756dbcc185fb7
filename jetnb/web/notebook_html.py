"""A run log as HTML that cannot run scripts in the page that shows it.

Two layers: nbconvert's sanitiser strips scripts, event handlers and
JavaScript outputs from the rendered notebook, and the page serves it into a
sandboxed iframe under a Content-Security-Policy that forbids scripts, so
even markup the sanitiser let through cannot execute.
"""

from __future__ import annotations

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; sandbox"


def render(log_text: str) -> str:
    """The executed notebook (the run log's text) as a standalone, sanitised HTML document."""
    from ..executor.fastimport import skip_unused_grammar

    skip_unused_grammar()
    import nbformat
    from nbconvert import HTMLExporter

    from pygments.formatters import HtmlFormatter

    exporter = HTMLExporter(sanitize_html=True, embed_images=True, template_name="basic")
    body, _ = exporter.from_notebook_node(nbformat.reads(log_text, as_version=4))
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}"
            f"{HtmlFormatter().get_style_defs('.highlight')}</style></head><body>{body}</body></html>")


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 12px; color: #222; }
.cell { margin: 0 0 10px; } .prompt { color: #888; font: 12px monospace; }
.input_area, .output_area pre { background: #f6f8fa; padding: 6px 8px; border-radius: 4px; overflow-x: auto; }
pre { margin: 0; font: 12.5px/1.4 ui-monospace, monospace; white-space: pre-wrap; }
.output_area { margin-left: 0; } .output_error pre, .output_stderr pre { background: #fdecea; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
"""
