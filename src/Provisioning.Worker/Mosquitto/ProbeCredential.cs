using System.Text;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// What a cycle gives the probe user so that the reload can be proven: a fresh password (in the passwd file) and a
/// fresh topic it may publish to (in the acl_file). Neither can be accepted before the broker loaded this cycle's files.
/// </summary>
public sealed record ProbeCredential(string Username, string Password, string Hash, string Topic)
{
    public static ProbeCredential New(string username, int hashIterations)
    {
        var password = CredentialGenerator.NewPassword();
        var nonce = Guid.NewGuid().ToString("N");
        return new ProbeCredential(username, password, MosquittoPasswordHash.Create(password, hashIterations), $"provisioning-worker/reload/{nonce}");
    }

    /// <summary>The probe's passwd line.</summary>
    public byte[] PasswdLine() => Encoding.UTF8.GetBytes($"{Username}:{Hash}\n");

    /// <summary>The probe's acl_file block: it may publish to this cycle's topic only.</summary>
    public byte[] AclBlock() => Encoding.UTF8.GetBytes($"user {Username}\ntopic write {Topic}\n");

    /// <summary>Never prints the password or the hash.</summary>
    public override string ToString() => $"probe {Username} ({Topic})";
}
