#!/usr/bin/python3
"""Drives a running bpfbox-manager through AT-SPI, the way assistive
technology sees it. tests/tests/desktop.rs starts one driver per desktop
session and sends it one command per line on stdin; the driver answers
each with a line "ok" or "fail <what it saw>". Starting Python and dogtail
once per session matters under QEMU's emulation, where it takes seconds.

    find NAME             a visible node named NAME exists
    find-prefix TEXT      a visible node whose name starts with TEXT exists
    gone NAME             the app shows no node named NAME
    checked NAME true     the check box (switch) NAME is on (false: off)
    toggle NAME           toggle the check box NAME

Arguments are tab-separated. Names match exactly. Every command waits up
to TIMEOUT seconds (90 by default: the app takes 30-40 s to appear).
"""
import os
import sys
import time

import dogtail.config

dogtail.config.config.checkForA11y = False
dogtail.config.config.logDebugToStdOut = False
dogtail.config.config.logDebugToFile = False

import pyatspi  # noqa: E402  (after dogtail's configuration)
from dogtail import tree  # noqa: E402

TIMEOUT = float(os.environ.get("DRIVER_TIMEOUT", "90"))
APP = "bpfbox-manager"


def app():
    for candidate in tree.root.children:
        if candidate.name == APP:
            return candidate
    return None


def visible(node):
    try:
        return node.getState().contains(pyatspi.STATE_VISIBLE)
    except Exception:  # gone from the tree
        return False


def visible_nodes():
    """Every visible node of the app, breadth first (toasts and status
    pages are near the top). GTK 4.8 never sets "showing" below the window,
    so visibility is what tells; hidden subtrees are skipped (the app hides
    what is not on screen), which keeps the walk short."""
    root = app()
    if root is None:
        return
    queue = [root]
    while queue:
        node = queue.pop(0)
        try:
            children = node.children
        except Exception:  # the tree changed under us
            continue
        for child in children:
            if visible(child):
                yield child
                queue.append(child)


def matching(test, role=None):
    """Visible nodes whose name passes `test`, up to the first one: GTK 4.8
    implements no AT-SPI cache, so every property is a round trip and a walk
    of the whole window takes about a minute under QEMU's emulation. Nodes
    are not remembered between walks: a hidden widget's own state still says
    visible, only its absence from its parent's children tells."""
    for n in visible_nodes():
        try:
            if test(n.name) and (role is None or n.roleName == role):
                return [n]
        except Exception:  # the tree changed under us
            continue
    return []


def gone(name):
    return app() is not None and not matching(lambda n: n == name)


def wait(condition):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:  # the tree changed under us
            result = None
        if result:
            return result
        time.sleep(0.3)
    return None


def seen():
    if app() is None:
        return f"{APP} is not on the accessibility bus"
    names = sorted({f"{n.roleName}:{n.name!r}" for n in visible_nodes() if n.name})
    return "visible: " + ", ".join(names)


def is_checked(node):
    return node.getState().contains(pyatspi.STATE_CHECKED)


def run(command, args):
    name = args[0]
    if command == "find":
        return wait(lambda: matching(lambda n: n == name))
    if command == "find-prefix":
        return wait(lambda: matching(lambda n: n.startswith(name)))
    if command == "gone":
        return wait(lambda: gone(name))
    if command == "checked":
        want = args[1] == "true"
        return wait(lambda: [n for n in matching(lambda n: n == name, "check box")
                             if is_checked(n) == want])
    if command == "toggle":
        boxes = wait(lambda: matching(lambda n: n == name, "check box"))
        if boxes:
            boxes[0].doActionNamed("toggle")
        return boxes
    raise ValueError(f"unknown command {command}")


def main():
    for line in sys.stdin:
        command, *args = line.rstrip("\n").split("\t")
        if run(command, args):
            print("ok", flush=True)
        else:
            print("fail " + seen().replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
