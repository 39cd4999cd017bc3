/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TIOCSTI from a 32-bit program, which the kernel takes through the compat
 * ioctl path (file_ioctl_compat, not file_ioctl). No libc: Debian's 64-bit
 * toolchain builds it with `gcc -m32 -ffreestanding -nostdlib -static`.
 * Exit status: 0 the character was typed, 1 EPERM, 2 another error.
 */
static long sys(long n, long a, long b, long c) {
	long r;
	__asm__ volatile ("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
void _start(void) {
	int master = sys(5, (long)"/dev/ptmx", 2 | 0400, 0); /* open O_RDWR|O_NOCTTY */
	int zero = 0;
	char name[32];
	unsigned int n = 0;
	long r;
	sys(54, master, 0x40045431, (long)&zero); /* TIOCSPTLCK unlock */
	sys(54, master, 0x80045430, (long)&n);    /* TIOCGPTN */
	{ char *p = name; const char *d = "/dev/pts/"; while (*d) *p++ = *d++;
	  char tmp[12]; int i = 0; do { tmp[i++] = '0' + n % 10; n /= 10; } while (n);
	  while (i) *p++ = tmp[--i]; *p = 0; }
	int slave = sys(5, (long)name, 2 | 0400, 0);
	char c = 'x';
	r = sys(54, slave, 0x5412, (long)&c); /* TIOCSTI */
	sys(1, r == 0 ? 0 : (r == -1 ? 1 : 2), 0, 0);
}
