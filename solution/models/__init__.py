"""Models: the zoo of networks every run trains, built from one `Config`."""
