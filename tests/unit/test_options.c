/* Placeholder until the real tests land: exit 77 makes meson report SKIP. */
#include <check.h>
int main(void) { return 77; }
