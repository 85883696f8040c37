"""The type stubs (python/vaults/__init__.pyi) describe the package that runs."""

import ast
import inspect
import os

import pytest

import vaults

pytestmark = pytest.mark.new

SOURCE_STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "vaults", "__init__.pyi")


def stub_tree():
    with open(SOURCE_STUB, encoding="utf-8") as f:
        return ast.parse(f.read())


def stub_all(tree):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [elt.value for elt in node.value.elts]
    raise AssertionError("the stub has no __all__")


def stub_classes(tree):
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def stub_methods(cls_node):
    return {
        n.name: n
        for n in cls_node.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_the_stub_exports_what_the_package_exports():
    tree = stub_tree()
    assert sorted(stub_all(tree)) == sorted(vaults.__all__)
    for name in stub_all(tree):
        assert hasattr(vaults, name), name


def test_every_public_method_is_in_the_stub():
    classes = stub_classes(stub_tree())
    for cls_name in ("Vault", "ManualClock"):
        runtime = getattr(vaults, cls_name)
        public = {n for n in dir(runtime) if not n.startswith("_")}
        public |= {n for n in ("__getitem__", "__setitem__", "__delitem__", "__contains__", "__len__",
                               "__iter__", "__bool__", "__enter__", "__exit__") if n in vars(runtime)}
        in_stub = set(stub_methods(classes[cls_name]))
        in_stub |= {n.target.id for n in classes[cls_name].body if isinstance(n, ast.AnnAssign)}
        missing = public - in_stub
        assert not missing, f"{cls_name}: {sorted(missing)} not in the stub"


def params(fn_node):
    a = fn_node.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs][1:]


@pytest.mark.parametrize("cls_name", ["Vault", "EncryptedVault"])
def test_stub_parameter_names_match_the_runtime(cls_name):
    node = stub_classes(stub_tree())[cls_name]
    runtime = getattr(vaults, cls_name)
    for name, fn in stub_methods(node).items():
        impl = getattr(runtime, name)
        if isinstance(impl, property) or not callable(impl):
            continue
        try:
            sig = inspect.signature(impl)
        except (TypeError, ValueError):
            continue  # a native method without a signature: nothing to compare
        names = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][1:]
        assert params(fn) == names, f"{cls_name}.{name}: stub {params(fn)} vs runtime {names}"


def test_the_installed_package_ships_the_stubs():
    folder = os.path.dirname(os.path.abspath(vaults.__file__))
    assert os.path.isfile(os.path.join(folder, "__init__.pyi"))
    assert os.path.isfile(os.path.join(folder, "py.typed"))
