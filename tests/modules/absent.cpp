// A library the fake module needs and the loader cannot find (see fake_module.cpp).
int hetero_absent_value() {
  return 1;
}
