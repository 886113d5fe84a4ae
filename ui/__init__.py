"""What the pages share, by concern: ``i18n`` (strings and each language's defaults), ``state`` (the one
place session state is read and written), ``widgets`` (the builders pages call), ``link`` (settings in
the address) and ``nav`` (how a page run starts). Pages in ``pages/`` only show.
"""
