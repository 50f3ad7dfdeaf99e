#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mkman.py — man pages from the one place each text already lives.

    mkman.py help NAME SECTION HELP-FILE OUT
        A command's --help text (sections in capitals at the margin, body
        indented, as vssdctl and scmctl print it) as a man page.
    mkman.py header HEADER OUTDIR PAGE=FUNC[,FUNC...] ...
        Man pages in section 3 from the documentation blocks of a C header
        (libscm's scm.h): each block starts with " * NAME[, NAME] - what",
        then SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS, each body indented
        with a tab. PAGE is the page's name; the FUNCs are the blocks it
        holds (their names as the blocks' first lines give them).

The output is plain man(7) roff: .TH, .SH, .PP, .TP, .nf/.fi for
synopses; text lines are escaped so that none starts with a control
character.
"""

import re
import sys

DATE = "2026-12-06"
SOURCE = "vssd 1.0.0"


def esc(text):
    """One line of text, safe in roff."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def th(name, section, manual):
    return [f'.TH {name.upper()} {section} "{DATE}" "{SOURCE}" "{manual}"']


def paragraphs(lines):
    """Body lines (indentation removed) as .PP paragraphs; an indented
    run (examples, tables) stays as it is, in .nf."""
    out, para, pre = [], [], []

    def flush():
        if para:
            out.append(".PP")
            out.extend(esc(l) for l in para)
            para.clear()
        if pre:
            out.append(".PP")
            out.append(".nf")
            out.extend(esc(l) for l in pre)
            out.append(".fi")
            pre.clear()

    for line in lines + [""]:
        if not line.strip():
            flush()
        elif line.startswith(("    ", "\t")):
            if para:
                flush()
            pre.append(line.strip("\n"))
        else:
            if pre:
                flush()
            para.append(line.strip())
    return out


def from_help(name, section, text):
    """A --help text: "NAME" ... sections, bodies indented by 4."""
    out = th(name, section, "vssd")
    sections, cur = [], None
    for raw in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", raw):
            cur = (raw.strip(), [])
            sections.append(cur)
        elif cur is not None:
            cur[1].append(raw[4:] if raw.startswith("    ") else raw.strip())
    if not sections or sections[0][0] != "NAME":
        sys.exit(f"mkman: the help of {name} does not start with NAME")
    for title, body in sections:
        out.append(f".SH {esc(title)}")
        if title == "NAME":
            out.append(esc(" ".join(l.strip() for l in body if l.strip())))
        elif title == "SYNOPSIS":
            out.append(".nf")
            out.extend(esc(l) for l in body if l.strip())
            out.append(".fi")
        else:
            out.extend(paragraphs(body))
    return "\n".join(out) + "\n"


def header_blocks(text):
    """{name: (summary, {SECTION: [lines]})} for every block of a header."""
    blocks = {}
    for m in re.finditer(r"/\*\n((?: \*.*\n)+?) \*/", text):
        lines = [l[3:] if l.startswith(" * ") else l[2:] for l in m.group(1).splitlines()]
        head = re.match(r"^([a-z_]+(?:, [a-z_]+)*) - (.*)$", lines[0])
        if not head:
            continue
        secs, cur = {}, None
        for l in lines[1:]:
            if re.match(r"^[A-Z][A-Z ]+$", l):
                cur = l.strip()
                secs[cur] = []
            elif cur:
                secs[cur].append(l[1:] if l.startswith("\t") else l)
        for n in head.group(1).split(", "):
            blocks[n] = (head.group(1), head.group(2), secs)
    return blocks


def from_header(page, funcs, blocks, header):
    out = th(page, 3, "libscm")
    names = []
    for f in funcs:
        if f not in blocks:
            sys.exit(f"mkman: no block for {f} in {header}")
        for n in blocks[f][0].split(", "):
            if n not in names:
                names.append(n)
    out.append(".SH NAME")
    out.append(esc(", ".join(names) + " \\- ") + esc(blocks[funcs[0]][1]))
    seen = []
    for title in ("SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS"):
        out.append(f".SH {title}")
        if title == "SYNOPSIS":
            out.append(".nf")
            out.append(".B #include <scm.h>")
            out.append(".PP")
        for f in funcs:
            key = blocks[f][0]
            if (key, title) in seen:
                continue
            seen.append((key, title))
            body = blocks[f][2].get(title, [])
            if title == "SYNOPSIS":
                out.extend(".B " + esc(l.strip()) for l in body if l.strip())
            elif title == "ERRORS":
                for l in body:
                    m = re.match(r"^([A-Z]+)\t(.*)$", l)
                    if m:
                        out += [".TP", f".B {m.group(1)}", esc(m.group(2))]
                    elif l.strip():
                        out.append(esc(l.strip()))
            else:
                if title == "DESCRIPTION" and len(funcs) > 1 and body:
                    out.append(".PP")
                    out.append(".B " + esc(", ".join(n + "()" for n in key.split(", "))))
                out.extend(paragraphs(body))
        if title == "SYNOPSIS":
            out.append(".fi")
            out.append(".PP")
            out.append("Link with \\fI\\-lscm\\fP.")
    out.append(".SH SEE ALSO")
    others = [p for p in ("scm_open", "scmalloc", "scmsync", "scm_tx_begin") if p != page]
    for p in others:
        out.append(f".BR {p} (3),")
    out.append(".BR scmctl (8)")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) >= 6 and argv[1] == "help":
        with open(argv[4]) as f:
            text = f.read()
        with open(argv[5], "w") as f:
            f.write(from_help(argv[2], argv[3], text))
        return 0
    if len(argv) >= 5 and argv[1] == "header":
        with open(argv[2]) as f:
            blocks = header_blocks(f.read())
        for spec in argv[4:]:
            page, funcs = spec.split("=", 1)
            with open(f"{argv[3]}/{page}.3", "w") as f:
                f.write(from_header(page, funcs.split(","), blocks, argv[2]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
