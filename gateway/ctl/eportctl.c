/* placeholder main: replaced by the command-line front end */
int main(void) { return 0; }
