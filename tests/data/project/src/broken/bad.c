/* Does not compile: the batch reports it as compile_error and carries on. */
int broken(int x) { return x + undeclared_thing; }
