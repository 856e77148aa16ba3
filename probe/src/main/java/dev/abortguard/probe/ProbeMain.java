package dev.abortguard.probe;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code abortguard-probe} command line. {@code check} tells whether a gRPC target, usually a
 * proxy chain, keeps the status of calls the server rejects at once, or turns it into CANCELLED
 * for C-core clients; {@code serve} runs a reference backend that rejects every call the way a
 * chosen server implementation does, to put behind such a chain.
 *
 * <p>Exit status: 0 keeps statuses, 1 loses statuses, 2 usage or connection error ({@code serve}
 * exits 0 when it stops on its own and 2 if it cannot start).
 */
public final class ProbeMain {
  static final int EXIT_USAGE = 2;

  static final String USAGE = "usage: java -jar abortguard-probe.jar check TARGET [options]   (check --help)\n"
      + "       java -jar abortguard-probe.jar serve --port P [options]   (serve --help)";

  private ProbeMain() {}

  /** Runs a command and exits with its status. */
  public static void main(String[] args) {
    int status;
    try {
      status = run(args, System.out, System.err);
    } catch (InterruptedException e) {
      status = EXIT_USAGE;
    }
    System.out.flush();
    System.exit(status);
  }

  static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
    if (args.length == 0) {
      err.println(USAGE);
      return EXIT_USAGE;
    }
    String command = args[0];
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    boolean help = rest.contains("--help") || rest.contains("-h");
    try {
      switch (command) {
        case "check":
          if (help) {
            out.println(CheckOptions.USAGE);
            return 0;
          }
          return CheckCommand.run(CheckOptions.parse(rest), out, err);
        case "serve":
          if (help) {
            out.println(ServeOptions.USAGE);
            return 0;
          }
          return ServeCommand.run(ServeOptions.parse(rest), out, err);
        case "help":
        case "--help":
        case "-h":
          out.println(USAGE);
          out.println();
          out.println(CheckOptions.USAGE);
          out.println();
          out.println(ServeOptions.USAGE);
          return 0;
        default:
          throw new UsageException("unknown command '" + command + "': use check or serve");
      }
    } catch (UsageException e) {
      err.println("abortguard-probe: " + e.getMessage());
      err.println(command.equals("check") ? CheckOptions.USAGE
          : command.equals("serve") ? ServeOptions.USAGE : USAGE);
      return EXIT_USAGE;
    }
  }
}
