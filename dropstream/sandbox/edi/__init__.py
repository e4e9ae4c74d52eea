"""A simulated X12 EDI trading partner (a 3PL warehouse) for specs/x12-warehouse.md §8.

``robot.EdiWarehouseRobot`` plays the warehouse on a local folder or an SFTP login; ``x12`` is
its own reader/writer (it shares no code with the hub's codec and never imports
``dropstream.platforms``); ``profile.PartnerProfile`` holds every partner-specific choice;
``cli.main(argv)`` runs it as ``dropstream sandbox edi``.
"""
