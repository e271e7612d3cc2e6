"""A validator for the small subset of XML Schema 1.0 the XDM metadata schema uses.

MonSisra validates the METADATA.XML it writes against ``xdm_metadata.xsd`` with lxml when
lxml is installed. lxml is not a dependency, so this module interprets the same XSD files:
global and local elements (``ref`` or ``name``/``type``), named and anonymous complex types
with ``sequence``/``choice``/``group`` and ``minOccurs``/``maxOccurs``, attributes (``use``
required or optional), ``attributeGroup``, ``anyAttribute`` (namespace list, ``##any``,
``##other``), simple types restricting ``xs:string``/``xs:anyURI``/``xs:token``/
``xs:boolean`` with ``length``/``minLength``/``maxLength``/``pattern``/``enumeration``, and
``import`` with a ``schemaLocation``. Anything else in a schema raises :class:`SchemaError`
when it is loaded, so the XSD cannot silently rely on a rule this module would ignore.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

XS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_BUILTINS = frozenset({"string", "anyURI", "token", "boolean"})
_COLLAPSE = frozenset({"anyURI", "token", "boolean"})


class SchemaError(Exception):
    """The schema uses an XSD construct outside the supported subset, or is inconsistent."""


def _xs(local: str) -> str:
    return f"{{{XS}}}{local}"


def _local(clark: str) -> str:
    return clark.rpartition("}")[2]


def _translate_pattern(pattern: str) -> re.Pattern[str]:
    """XSD regular expression -> Python (XSD has no anchors: ^ and $ are literal)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt in ("i", "I", "c", "C", "p", "P"):
                raise SchemaError(f"Motif XSD non pris en charge : \\{nxt} dans {pattern!r}.")
            out.append(ch + nxt)
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch in "^$" and not in_class:
            out.append("\\" + ch)
            i += 1
            continue
        out.append(ch)
        i += 1
    return re.compile("".join(out))


@dataclass
class SimpleType:
    name: str
    base: str
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    # each step of the derivation contributes a set of alternatives; all steps must match
    patterns: list[list[re.Pattern[str]]] = field(default_factory=list)
    enumeration: list[str] | None = None

    def errors(self, raw: str) -> list[str]:
        value = " ".join(raw.split()) if self.base in _COLLAPSE else raw
        problems: list[str] = []
        if self.base == "boolean" and value not in ("true", "false", "1", "0"):
            problems.append("booléen attendu")
        if self.length is not None and len(value) != self.length:
            problems.append(f"longueur {self.length} attendue")
        if self.min_length is not None and len(value) < self.min_length:
            problems.append(f"au moins {self.min_length} caractère(s)")
        if self.max_length is not None and len(value) > self.max_length:
            problems.append(f"au plus {self.max_length} caractères")
        for alternatives in self.patterns:
            if not any(p.fullmatch(value) for p in alternatives):
                shown = " | ".join(p.pattern for p in alternatives)
                problems.append(f"ne respecte pas le motif {shown}")
        if self.enumeration is not None and value not in self.enumeration:
            problems.append("valeur hors de la liste autorisée")
        return [f"valeur {value[:80]!r} ({self.name}) : {p}" for p in problems]


@dataclass(frozen=True)
class Attribute:
    name: str
    type: SimpleType
    required: bool


@dataclass
class Particle:
    kind: Literal["element", "sequence", "choice"]
    min: int
    max: int | None
    element: ElementDecl | None = None
    children: list[Particle] = field(default_factory=list)


@dataclass
class ComplexType:
    content: Particle | None
    attributes: dict[str, Attribute]
    any_attribute: Callable[[str], bool] | None
    elements: dict[str, ElementDecl]


@dataclass
class _Doc:
    root: ET.Element
    prefixes: dict[str, str]
    target: str
    location: str

    def qname(self, value: str) -> str:
        prefix, _, local = value.rpartition(":")
        if prefix not in self.prefixes and prefix != "":
            raise SchemaError(f"Préfixe {prefix!r} non déclaré dans {self.location}.")
        uri = self.prefixes.get(prefix, "")
        return f"{{{uri}}}{local}" if uri else local


class ElementDecl:
    def __init__(self, schema: Schema, name: str, node: ET.Element, doc: _Doc) -> None:
        self.name, self._schema, self._node, self._doc = name, schema, node, doc
        self._type: ComplexType | SimpleType | None = None

    @property
    def type(self) -> ComplexType | SimpleType:
        if self._type is None:
            self._type = self._schema._element_type(self._node, self._doc)
        return self._type


def _occurs(node: ET.Element) -> tuple[int, int | None]:
    low = int(node.get("minOccurs", "1"))
    high_raw = node.get("maxOccurs", "1")
    high = None if high_raw == "unbounded" else int(high_raw)
    if high is not None and high < low:
        raise SchemaError("maxOccurs inférieur à minOccurs.")
    return low, high


def _check_attrs(node: ET.Element, allowed: Iterable[str]) -> None:
    extra = set(node.attrib) - set(allowed)
    if extra:
        raise SchemaError(f"Attribut(s) XSD non pris en charge sur {_local(node.tag)} : {extra}.")


class Schema:
    """Global declarations of a schema and its imports; :meth:`validate` checks a document."""

    def __init__(self, read: Callable[[str], bytes], entry: str) -> None:
        self._read = read
        self.elements: dict[str, ElementDecl] = {}
        self._complex: dict[str, tuple[ET.Element, _Doc]] = {}
        self._simple: dict[str, tuple[ET.Element, _Doc]] = {}
        self._groups: dict[str, tuple[ET.Element, _Doc]] = {}
        self._attr_groups: dict[str, tuple[ET.Element, _Doc]] = {}
        self._compiled_complex: dict[str, ComplexType] = {}
        self._compiled_simple: dict[str, SimpleType] = {}
        self._loaded: set[str] = set()
        self._load(entry)
        for decl in self.elements.values():  # compile everything now: errors surface at load
            _ = decl.type
            if isinstance(decl.type, ComplexType):
                for child in decl.type.elements.values():
                    _ = child.type

    # ------------------------------------------------------------------ loading

    def _load(self, location: str) -> None:
        if location in self._loaded:
            return
        self._loaded.add(location)
        prefixes: dict[str, str] = {}
        root: ET.Element | None = None
        source = io.BytesIO(self._read(location))
        # the schemas are this package's own data files
        events = ET.iterparse(source, events=("start-ns", "start"))  # noqa: S314
        for event, payload in events:
            if event == "start-ns":
                prefix, uri = payload
                if prefixes.get(prefix, uri) != uri:
                    raise SchemaError(f"Préfixe {prefix!r} redéfini dans {location}.")
                prefixes[prefix] = uri
            elif root is None:
                root = payload
        if root is None or root.tag != _xs("schema"):
            raise SchemaError(f"{location} n'est pas un schéma XSD.")
        _check_attrs(root, ("targetNamespace", "elementFormDefault", "attributeFormDefault"))
        if root.get("elementFormDefault") != "qualified":
            raise SchemaError('Seul elementFormDefault="qualified" est pris en charge.')
        if root.get("attributeFormDefault", "unqualified") != "unqualified":
            raise SchemaError('Seul attributeFormDefault="unqualified" est pris en charge.')
        doc = _Doc(root, prefixes, root.get("targetNamespace", ""), location)
        tables = {
            _xs("complexType"): self._complex,
            _xs("simpleType"): self._simple,
            _xs("group"): self._groups,
            _xs("attributeGroup"): self._attr_groups,
        }
        for node in root:
            if node.tag == _xs("annotation"):
                continue
            if node.tag == _xs("import"):
                _check_attrs(node, ("namespace", "schemaLocation"))
                if not node.get("schemaLocation"):
                    raise SchemaError("xs:import sans schemaLocation.")
                self._load(node.attrib["schemaLocation"])
                continue
            name = node.get("name")
            if not name:
                raise SchemaError(f"Déclaration globale sans nom dans {location}.")
            clark = f"{{{doc.target}}}{name}" if doc.target else name
            if node.tag == _xs("element"):
                _check_attrs(node, ("name", "type"))
                self.elements[clark] = ElementDecl(self, clark, node, doc)
            elif node.tag in tables:
                tables[node.tag][clark] = (node, doc)
            else:
                raise SchemaError(f"Construction XSD non prise en charge : {_local(node.tag)}.")

    def _element_type(self, node: ET.Element, doc: _Doc) -> ComplexType | SimpleType:
        type_name = node.get("type")
        inline = [c for c in node if c.tag != _xs("annotation")]
        if type_name:
            if inline:
                raise SchemaError("Élément avec à la fois un type nommé et un type anonyme.")
            return self._named_type(doc.qname(type_name))
        if len(inline) != 1:
            raise SchemaError(f"Élément {node.get('name')!r} sans type.")
        if inline[0].tag == _xs("complexType"):
            return self._complex_type(inline[0], doc)
        if inline[0].tag == _xs("simpleType"):
            return self._simple_type(inline[0], doc, node.get("name", "anonyme"))
        raise SchemaError(f"Type non pris en charge : {_local(inline[0].tag)}.")

    def _named_type(self, clark: str) -> ComplexType | SimpleType:
        if clark in self._complex:
            if clark not in self._compiled_complex:
                node, doc = self._complex[clark]
                self._compiled_complex[clark] = self._complex_type(node, doc)
            return self._compiled_complex[clark]
        return self._named_simple(clark)

    def _named_simple(self, clark: str) -> SimpleType:
        if clark.startswith(f"{{{XS}}}"):
            local = _local(clark)
            if local not in _BUILTINS:
                raise SchemaError(f"Type prédéfini non pris en charge : xs:{local}.")
            return SimpleType(f"xs:{local}", local)
        if clark not in self._simple:
            raise SchemaError(f"Type {clark} introuvable.")
        if clark not in self._compiled_simple:
            node, doc = self._simple[clark]
            self._compiled_simple[clark] = self._simple_type(node, doc, _local(clark))
        return self._compiled_simple[clark]

    def _simple_type(self, node: ET.Element, doc: _Doc, name: str) -> SimpleType:
        parts = [c for c in node if c.tag != _xs("annotation")]
        if len(parts) != 1 or parts[0].tag != _xs("restriction"):
            raise SchemaError(f"Type simple {name!r} : seule xs:restriction est prise en charge.")
        restriction = parts[0]
        _check_attrs(restriction, ("base",))
        base = self._named_simple(doc.qname(restriction.attrib["base"]))
        result = SimpleType(
            name,
            base.base,
            base.length,
            base.min_length,
            base.max_length,
            list(base.patterns),
            list(base.enumeration) if base.enumeration is not None else None,
        )
        patterns: list[re.Pattern[str]] = []
        enumeration: list[str] = []
        for facet in restriction:
            if facet.tag == _xs("annotation"):
                continue
            _check_attrs(facet, ("value",))
            value = facet.attrib["value"]
            kind = _local(facet.tag)
            if kind == "length":
                result.length = int(value)
            elif kind == "minLength":
                result.min_length = int(value)
            elif kind == "maxLength":
                result.max_length = int(value)
            elif kind == "pattern":
                patterns.append(_translate_pattern(value))
            elif kind == "enumeration":
                enumeration.append(value)
            else:
                raise SchemaError(f"Facette XSD non prise en charge : {kind}.")
        if patterns:
            result.patterns.append(patterns)
        if enumeration:
            result.enumeration = enumeration
        return result

    def _complex_type(self, node: ET.Element, doc: _Doc) -> ComplexType:
        _check_attrs(node, ("name",))
        content: Particle | None = None
        attributes: dict[str, Attribute] = {}
        any_attribute: Callable[[str], bool] | None = None
        for child in node:
            tag = child.tag
            if tag == _xs("annotation"):
                continue
            if tag in (_xs("sequence"), _xs("choice"), _xs("group")):
                if content is not None or attributes:
                    raise SchemaError("Modèle de contenu mal placé dans un type complexe.")
                content = self._particle(child, doc)
            elif tag == _xs("attribute"):
                attribute = self._attribute(child, doc)
                attributes[attribute.name] = attribute
            elif tag == _xs("attributeGroup"):
                attributes.update(self._attribute_group(child, doc))
            elif tag == _xs("anyAttribute"):
                any_attribute = self._any_attribute(child, doc)
            else:
                raise SchemaError(f"Construction XSD non prise en charge : {_local(tag)}.")
        elements: dict[str, ElementDecl] = {}
        if content is not None:
            self._collect(content, elements)
        return ComplexType(content, attributes, any_attribute, elements)

    def _collect(self, particle: Particle, into: dict[str, ElementDecl]) -> None:
        if particle.element is not None:
            known = into.setdefault(particle.element.name, particle.element)
            if known is not particle.element:
                raise SchemaError(f"Déclarations incohérentes pour {particle.element.name}.")
        for child in particle.children:
            self._collect(child, into)

    def _particle(self, node: ET.Element, doc: _Doc) -> Particle:
        low, high = _occurs(node)
        tag = node.tag
        if tag == _xs("element"):
            _check_attrs(node, ("ref", "name", "type", "minOccurs", "maxOccurs"))
            if node.get("ref"):
                clark = doc.qname(node.attrib["ref"])
                if clark not in self.elements:
                    raise SchemaError(f"Élément {clark} introuvable.")
                decl = self.elements[clark]
            else:
                name = node.attrib["name"]
                clark = f"{{{doc.target}}}{name}" if doc.target else name
                decl = ElementDecl(self, clark, node, doc)
            return Particle("element", low, high, element=decl)
        if tag == _xs("group"):
            _check_attrs(node, ("ref", "minOccurs", "maxOccurs"))
            clark = doc.qname(node.attrib["ref"])
            if clark not in self._groups:
                raise SchemaError(f"Groupe {clark} introuvable.")
            group_node, group_doc = self._groups[clark]
            inner = [c for c in group_node if c.tag != _xs("annotation")]
            if len(inner) != 1 or inner[0].tag not in (_xs("sequence"), _xs("choice")):
                raise SchemaError(f"Groupe {clark} : une séquence ou un choix attendu.")
            return Particle("sequence", low, high, children=[self._particle(inner[0], group_doc)])
        if tag in (_xs("sequence"), _xs("choice")):
            _check_attrs(node, ("minOccurs", "maxOccurs"))
            children = [self._particle(c, doc) for c in node if c.tag != _xs("annotation")]
            kind: Literal["sequence", "choice"] = "sequence" if tag == _xs("sequence") else "choice"
            return Particle(kind, low, high, children=children)
        raise SchemaError(f"Particule XSD non prise en charge : {_local(tag)}.")

    def _attribute(self, node: ET.Element, doc: _Doc) -> Attribute:
        _check_attrs(node, ("name", "type", "use"))
        use = node.get("use", "optional")
        if use not in ("optional", "required"):
            raise SchemaError(f"use={use!r} non pris en charge.")
        type_name = node.get("type", "xs:string")
        simple = self._named_simple(doc.qname(type_name))
        return Attribute(node.attrib["name"], simple, use == "required")

    def _attribute_group(self, node: ET.Element, doc: _Doc) -> dict[str, Attribute]:
        _check_attrs(node, ("ref",))
        clark = doc.qname(node.attrib["ref"])
        if clark not in self._attr_groups:
            raise SchemaError(f"Groupe d'attributs {clark} introuvable.")
        group_node, group_doc = self._attr_groups[clark]
        result: dict[str, Attribute] = {}
        for child in group_node:
            if child.tag == _xs("attribute"):
                attribute = self._attribute(child, group_doc)
                result[attribute.name] = attribute
            elif child.tag == _xs("attributeGroup"):
                result.update(self._attribute_group(child, group_doc))
            elif child.tag != _xs("annotation"):
                raise SchemaError(f"Construction XSD non prise en charge : {_local(child.tag)}.")
        return result

    def _any_attribute(self, node: ET.Element, doc: _Doc) -> Callable[[str], bool]:
        _check_attrs(node, ("namespace", "processContents"))
        spec = node.get("namespace", "##any").split()
        if node.get("processContents", "strict") not in ("skip", "lax"):
            raise SchemaError("anyAttribute : seul processContents skip ou lax est pris en charge.")
        if spec == ["##any"]:
            return lambda _ns: True
        if spec == ["##other"]:
            return lambda ns: ns not in ("", doc.target)
        if any(s.startswith("##") for s in spec):
            raise SchemaError(f"anyAttribute namespace={spec!r} non pris en charge.")
        allowed = frozenset(spec)
        return lambda ns: ns in allowed

    # ------------------------------------------------------------------ validation

    def validate(self, root: ET.Element) -> list[str]:
        """Problems found in the document (empty list: valid), in French."""
        decl = self.elements.get(root.tag)
        if decl is None:
            return [f"élément racine inattendu : {root.tag}"]
        errors: list[str] = []
        self._validate(root, decl, "/" + _local(root.tag), errors)
        return errors

    def _validate(self, elem: ET.Element, decl: ElementDecl, path: str, errors: list[str]) -> None:
        kind = decl.type
        children = [c for c in elem if isinstance(c.tag, str)]
        if isinstance(kind, SimpleType):
            if children:
                errors.append(f"{path} : contenu texte seul attendu")
            if elem.attrib:
                errors.append(f"{path} : attributs inattendus {sorted(elem.attrib)}")
            errors.extend(f"{path} : {e}" for e in kind.errors(elem.text or ""))
            return
        for name, value in elem.attrib.items():
            attribute = kind.attributes.get(name)
            if attribute is not None:
                errors.extend(f"{path}/@{name} : {e}" for e in attribute.type.errors(value))
                continue
            namespace = name[1:].partition("}")[0] if name.startswith("{") else ""
            if kind.any_attribute is None or not namespace or not kind.any_attribute(namespace):
                errors.append(f"{path} : attribut inattendu {name}")
        for name, attribute in kind.attributes.items():
            if attribute.required and name not in elem.attrib:
                errors.append(f"{path} : attribut obligatoire {name} absent")
        if (elem.text or "").strip() or any((c.tail or "").strip() for c in children):
            errors.append(f"{path} : texte inattendu")
        tags = [c.tag for c in children]
        if kind.content is None:
            if children:
                errors.append(f"{path} : aucun élément enfant attendu")
                return
        else:
            matcher = _Matcher(tags)
            if len(tags) not in matcher.match(kind.content, 0):
                at = matcher.furthest
                if at < len(tags):
                    errors.append(
                        f"{path} : élément inattendu en position {at + 1} ({_local(tags[at])})"
                    )
                else:
                    errors.append(
                        f"{path} : élément obligatoire manquant après {len(tags)} enfant(s)"
                    )
                return
        counts: dict[str, int] = {}
        for child in children:
            child_decl = kind.elements.get(child.tag)
            if child_decl is None:  # pragma: no cover - the match above rules it out
                errors.append(f"{path} : élément inattendu {child.tag}")
                continue
            counts[child.tag] = counts.get(child.tag, 0) + 1
            self._validate(
                child, child_decl, f"{path}/{_local(child.tag)}[{counts[child.tag]}]", errors
            )


class _Matcher:
    """Positions reachable after matching a particle: a small NFA over the child tags."""

    def __init__(self, tags: list[str]) -> None:
        self.tags = tags
        self.furthest = 0

    def _once(self, particle: Particle, pos: int) -> set[int]:
        if particle.kind == "element":
            assert particle.element is not None
            if pos < len(self.tags) and self.tags[pos] == particle.element.name:
                self.furthest = max(self.furthest, pos + 1)
                return {pos + 1}
            return set()
        if particle.kind == "sequence":
            current = {pos}
            for child in particle.children:
                current = {end for start in current for end in self.match(child, start)}
                if not current:
                    break
            return current
        return {end for child in particle.children for end in self.match(child, pos)}

    def match(self, particle: Particle, pos: int) -> set[int]:
        results = {pos} if particle.min == 0 else set()
        current = {pos}
        # past minOccurs, a useful repetition consumes at least one element
        limit = particle.min + (len(self.tags) - pos) + 1
        if particle.max is not None:
            limit = min(limit, particle.max)
        for count in range(1, limit + 1):
            current = {end for start in current for end in self._once(particle, start)}
            if not current:
                break
            if count >= particle.min:
                results |= current
        return results
