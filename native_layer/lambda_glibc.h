/* Forced into every C file of the Lambda layer build (gcc -include, native_layer/Makefile).
 *
 * glibc 2.34 moved libpthread into libc and gave the moved symbols a new default version, so an
 * extension linked on this machine asks for GLIBC_2.34, which Lambda's python3.11 runtime
 * (Amazon Linux 2, glibc 2.26) lacks, and fails to import there. Binding them to their original
 * versions, which newer glibc still exports, keeps the layer loadable on both.
 * tests/deploy/test_sam_build.py lists any symbol that still needs a newer glibc.
 */
__asm__(".symver pthread_condattr_setclock,pthread_condattr_setclock@GLIBC_2.3.3");
