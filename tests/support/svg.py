"""Reading a drawn execution graph by its structure: its nodes and edges, and the classes of each."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def drawn(text: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The SVG's (or the page holding it) nodes and edges: title -> classes."""
    root = ET.fromstring(text[text.index("<svg") : text.index("</svg>") + len("</svg>")])
    nodes: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    for group in root.iter(f"{SVG}g"):
        classes = set(group.get("class", "").split())
        title = group.find(f"{SVG}title")
        if title is None or title.text is None:
            continue
        if "node" in classes:
            nodes[title.text] = classes
        elif "edge" in classes:
            edges.setdefault(title.text, set()).update(classes)
    return nodes, edges
