"""The hub's X12 EDI codec, release 004010 (specs/x12-warehouse.md).

Pure functions, no Django, no I/O: bytes in, frozen dataclasses out, and back.

- ``envelope``  ISA/GS/ST/SE/GE/IEA, delimiters, segment splitting/joining, text cleaning (§1, §7)
- ``syntax``    per-element M/C, length, type and code checks from the spec's tables (§7.2)
- ``acks``      997 findings (AK2–AK5, AK1/AK9) and the generic reading driver (§5.2)
- ``profile``   what differs per trading partner, with the spec's §9 defaults
- ``w940``      940 Warehouse Shipping Order: validator, writer, and a reader for tests (§2)
- ``w945``      945 Warehouse Shipping Advice reader (§3)
- ``w846``      846 Inventory Inquiry/Advice reader (§4)
- ``w997``      997 Functional Acknowledgment reader and writer (§5)
- ``inbound``   one reader for any file the warehouse drops (945, 846 and 997 groups)
"""
