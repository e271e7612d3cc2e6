"""IHE XDM archives (the ``IHE_XDM.ZIP`` of MSSanté messages): writer, reader, validator.

Shared by both halves: MonSisra writes archives beside exported PDFs for the practice
software, the platform attaches them to the mail it sends to other MSSanté operators and
reads those it receives. The zip is written by :mod:`sisra.common.xdm.archive`, its
METADATA.XML by :mod:`sisra.common.xdm.metadata` and checked by
:mod:`sisra.common.xdm.validation`, an archive is read back by :mod:`sisra.common.xdm.reader`;
the CDA document is :mod:`sisra.common.xdm.cda`, the CI-SIS value sets
:mod:`sisra.common.xdm.codes`, the fields of a document description
:mod:`sisra.common.xdm.item`, the OASIS ebRIM 3.0 schemas are in ``schemas/``.
"""

from sisra.common.xdm.archive import build_xdm, unsafe_entry_name, validate_archive, write_xdm
from sisra.common.xdm.cda import write_pdf_xdm
from sisra.common.xdm.metadata import (
    CDA_PDF,
    DOCUMENT_ENTRY,
    ENTRIES,
    INDEX_ENTRY,
    METADATA_ENTRY,
    PDF,
    README_ENTRY,
    ZIP_NAME,
    Content,
    XdmError,
    metadata_xml,
)
from sisra.common.xdm.reader import read_xdm
from sisra.common.xdm.validation import (
    metadata_schema,
    schema_errors,
    validate_metadata,
    validator_name,
    xds_errors,
)

__all__ = [
    "CDA_PDF",
    "DOCUMENT_ENTRY",
    "ENTRIES",
    "INDEX_ENTRY",
    "METADATA_ENTRY",
    "PDF",
    "README_ENTRY",
    "ZIP_NAME",
    "Content",
    "XdmError",
    "build_xdm",
    "metadata_schema",
    "metadata_xml",
    "read_xdm",
    "schema_errors",
    "unsafe_entry_name",
    "validate_archive",
    "validate_metadata",
    "validator_name",
    "write_pdf_xdm",
    "write_xdm",
    "xds_errors",
]
