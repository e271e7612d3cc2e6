"""IHE XDM archives (the ``IHE_XDM.ZIP`` of MSSanté messages): writer, reader, validator.

Shared by both halves: MonSisra writes archives beside exported PDFs for the practice
software, the platform attaches them to the mail it sends to other MSSanté operators and
reads those it receives. The code lives in :mod:`sisra.common.xdm.archive`, the CI-SIS
value sets in :mod:`sisra.common.xdm.codes`, the fields of a document description in
:mod:`sisra.common.xdm.item`, the OASIS ebRIM 3.0 schemas in ``schemas/``.
"""

from sisra.common.xdm.archive import (
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
    build_xdm,
    metadata_schema,
    metadata_xml,
    read_xdm,
    schema_errors,
    unsafe_entry_name,
    validate_archive,
    validate_metadata,
    validator_name,
    write_xdm,
    xds_errors,
)
from sisra.common.xdm.cda import write_pdf_xdm

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
