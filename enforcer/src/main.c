/* Placeholder until the enforcer core lands; exits with the documented "cannot protect" code. */
#include <stdio.h>
int main(void)
{
	fputs("inlay-enforcer: not built yet\n", stderr);
	return 125;
}
