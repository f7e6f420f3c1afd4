"""The browser side of Backchannel: ``static/backchannel.js``, the browser SDK (an ES module, no
build step), served by the app at ``/static/backchannel.js``."""
