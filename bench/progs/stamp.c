/* Prints its CLOCK_MONOTONIC at main() in nanoseconds: the workload side of start-latency. */
#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld\n", ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
