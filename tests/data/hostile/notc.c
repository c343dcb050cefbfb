This is not C at all, just prose with a .c name.
