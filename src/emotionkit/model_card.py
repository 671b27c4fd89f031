"""Render a model folder's ``README.md`` model card, with Hugging Face Hub metadata."""

from __future__ import annotations

import json

from emotionkit.config import ModelConfig

__all__ = ["render_model_card"]


def render_model_card(config: ModelConfig, body: str | None = None) -> str:
    """Return a model card: YAML front matter for the Hub, then a Markdown body.

    Args:
        config: The model's config; its ``metrics`` (if any) become Hub metrics
            metadata, a ``personalized`` provenance is mentioned.
        body: Markdown after the front matter; default: a generated summary.

    Returns:
        The card text.

    Examples:
        >>> cfg = ModelConfig({"name": "convnet", "input_size": 48}, ("a", "b"))
        >>> render_model_card(cfg).startswith("---")
        True
    """
    metrics = config.metrics
    front = [
        "---",
        "library_name: emotionkit",
        "pipeline_tag: image-classification",
        "license: apache-2.0",
        "tags:",
        "- emotionkit",
        "- keras",
        "- facial-expression-recognition",
        "- emotion-recognition",
    ]
    if config.datasets:
        front.append("datasets:")
        front += [f"- {d}" for d in config.datasets]
    if metrics:
        front.append("metrics:")
        front += [f"- {name}" for name in sorted({m.get("type", "accuracy") for m in metrics.values()})]
    front.append("---")
    if body is None:
        arch = config.architecture
        lines = [
            "# emotionkit facial-expression model",
            "",
            f"Architecture: `{arch.get('name', '?')}`; labels: {', '.join(config.labels)}.",
            "",
            "Load it with:",
            "",
            "```python",
            "from emotionkit import EmotionRecognizer",
            'rec = EmotionRecognizer.from_pretrained("<this repo id or folder>")',
            "```",
        ]
        if config.personalized:
            lines += ["", f"Personalised from `{config.personalized.get('base', '?')}`."]
        if metrics:
            lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
            lines += [f"| {k} | {v.get('value')} |" for k, v in sorted(metrics.items())]
        lines += ["", "## Config", "", "```json", json.dumps(config.architecture, indent=2), "```"]
        body = "\n".join(lines)
    return "\n".join(front) + "\n\n" + body.strip() + "\n"
