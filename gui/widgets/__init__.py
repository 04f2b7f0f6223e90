"""What panels share: the Panel base, plot helpers, pixmaps, inputs, export menus and the theme."""
